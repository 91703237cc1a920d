import ControlProtocol
import XCTest

final class ControlProtocolTests: XCTestCase {
  func testEveryRequestRoundTrips() throws {
    let requests: [ControlRequest] = [
      .init(.info(section: nil)), .init(.info(section: "ingest"), json: true), .init(.streams),
      .init(.stream(id: "plant 7/temp")), .init(.reset(id: "a.b")), .init(.reload), .init(.metrics),
      .init(.ping, json: true), .init(.history(id: "a b")),
      .init(.feedback(id: "plant 7", verdict: .falseAlarm(.last))),
      .init(.feedback(id: "p", verdict: .falseAlarm(.sequence(3))), json: true),
      .init(.feedback(id: "p", verdict: .falseAlarm(.atOrBefore(1_700_000_000_000)))),
      .init(.feedback(id: "p q", verdict: .clear)),
    ]
    for request in requests {
      XCTAssertEqual(try ControlRequest.parse(request.line + "\n"), request)
    }
  }

  func testBadRequestsAreExplained() {
    let cases: [(String, String)] = [
      ("", "empty request"), ("frobnicate", "unknown command 'frobnicate'"),
      ("info disk", "unknown info section 'disk'"),
      ("stream", "'stream' needs a stream id"), ("reload now", "'reload' takes no arguments"),
      ("feedback", "'feedback' needs a verdict and a stream id"), ("feedback fine s", "'feedback' needs a verdict"),
      ("feedback false-alarm,event=x s", "'feedback' needs a verdict"),
      ("feedback clear ", "'feedback' needs a stream id"),
      (String(repeating: "x", count: (1 << 22) + 1), "request too long"),
    ]
    for (line, message) in cases {
      XCTAssertThrowsError(try ControlRequest.parse(line)) { error in
        XCTAssertTrue((error as? ControlError)?.message.hasPrefix(message) ?? false, "\(line.prefix(20)): \(error)")
      }
    }
  }

  func testRepliesRoundTrip() {
    let ok = ControlReply(ok: true, body: "pong\n")
    XCTAssertEqual(ControlReply.decode(ok.encoded), ok)
    let failure = ControlReply.failure("no stream 'x'")
    XCTAssertEqual(failure.encoded, "error: no stream 'x'\n")
    XCTAssertEqual(ControlReply.decode(failure.encoded), failure)
    XCTAssertFalse(ControlReply.decode("garbage").ok)
  }

  func testInfoRendersAsRedisTextAndAsJSON() {
    let report = InfoReport([
      .init("server", [("uptime_in_seconds", .int(12)), ("name", .text("a\"b"))]),
      .init("ingest", [("rate", .double(2.5)), ("up", .bool(true)), ("n", .uint(3))]),
    ])
    XCTAssertEqual(report.text, "# Server\nuptime_in_seconds:12\nname:a\"b\n\n# Ingest\nrate:2.5\nup:1\nn:3\n")
    XCTAssertEqual(
      report.json, #"{"server":{"uptime_in_seconds":12,"name":"a\"b"},"ingest":{"rate":2.5,"up":true,"n":3}}"# + "\n")
  }

  /// Lists are arrays in JSON and comma-joined in text; a value that does not apply is null in
  /// JSON and a word in text.
  func testListsAndAbsentValuesAreTypedInJSON() {
    let report = InfoReport([
      .init(
        "stream",
        [
          ("mean", .list([.double(1.5), .double(-2)])),
          ("period", .list([.int(8), .none("none")])),
          ("slow", .none("off")),
        ])
    ])
    XCTAssertEqual(report.text, "# Stream\nmean:1.5,-2\nperiod:8,none\nslow:off\n")
    XCTAssertEqual(report.json, #"{"stream":{"mean":[1.5,-2],"period":[8,null],"slow":null}}"# + "\n")
  }

  func testDefaultSocketPathFollowsSystemdThenXDG() {
    XCTAssertEqual(
      ControlPaths.defaultSocket(environment: ["RUNTIME_DIRECTORY": "/run/anomalyd", "XDG_RUNTIME_DIR": "/run/user/1"]),
      "/run/anomalyd/control.sock")
    XCTAssertEqual(
      ControlPaths.defaultSocket(environment: ["XDG_RUNTIME_DIR": "/run/user/1"]), "/run/user/1/anomalyd/control.sock")
  }
}
