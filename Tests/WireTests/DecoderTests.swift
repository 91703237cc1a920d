import XCTest

@testable import Wire

final class TextLineTests: XCTestCase {
  func decode(_ text: String) throws(DecodeError) -> DecodedSamples {
    try SampleDecoder.decode(Array(text.utf8))
  }

  func testValuesAndTimestamps() throws {
    var s = try decode("21.5\n")
    XCTAssertEqual(s.values, [21.5])
    XCTAssertEqual(s.timestamps, [DecodedSamples.noTimestamp])
    s = try decode(" 1, -2.5e3 ,3\r\n")
    XCTAssertEqual(s.values, [1, -2500, 3])
    XCTAssertEqual(s.channels, 3)
    s = try decode("@1700000000.25,7")
    XCTAssertEqual(s.timestamps, [1_700_000_000_250])
    XCTAssertEqual(s.values, [7])
    s = try decode("2014-04-01 00:00:00,5")
    XCTAssertEqual(s.timestamps, [1_396_310_400_000])
    s = try decode("2024-05-01T12:00:00.5+02:00,1,2")
    XCTAssertEqual(s.timestamps, [1_714_557_600_500])
    XCTAssertEqual(s.values, [1, 2])
    // A number is never taken for a timestamp.
    s = try decode("1700000000,3")
    XCTAssertEqual(s.values, [1_700_000_000, 3])
    XCTAssertEqual(s.timestamps, [DecodedSamples.noTimestamp])
  }

  func testEveryMalformedLineHasItsOwnError() {
    let cases: [(String, String)] = [
      ("", "empty"), ("\n", "syntax"), ("abc", "syntax"), ("1,,2", "syntax"), ("1,", "syntax"),
      ("nan", "syntax"), ("inf", "syntax"), ("0x10", "syntax"), ("1e999", "non_finite"), ("1e200", "out_of_range"),
      ("@abc,1", "bad_timestamp"), ("2024-13-01,1", "bad_timestamp"), ("2024-02-30 00:00:00,1", "bad_timestamp"),
      ("2024-01-01T00:00:00Q,1", "bad_timestamp"), ("@1700000000", "syntax"),
      (String(repeating: "1,", count: 1100) + "1", "too_many_channels"),
    ]
    for (text, reason) in cases {
      XCTAssertThrowsError(try decode(text), "'\(text.prefix(20))'") { error in
        XCTAssertEqual((error as? DecodeError)?.reason, reason, "'\(text.prefix(20))': \(error)")
      }
    }
    XCTAssertThrowsError(try SampleDecoder.decode([0x31, 0xFF, 0xFE])) { error in
      XCTAssertEqual(error as? DecodeError, .invalidUTF8)
    }
  }
}

final class JSONSampleTests: XCTestCase {
  func decode(_ text: String) throws(DecodeError) -> DecodedSamples {
    try SampleDecoder.decode(Array(text.utf8))
  }

  func testAcceptedForms() throws {
    var s = try decode(#"{"ts": 1700000000000, "value": 21.5}"#)
    XCTAssertEqual(s.values, [21.5])
    XCTAssertEqual(s.timestamps, [1_700_000_000_000])
    s = try decode(#"{"values":[1,2.5,-3e2],"ts":"2024-05-01T12:00:00Z","unit":{"x":[true,null,"a\"b"]}}"#)
    XCTAssertEqual(s.values, [1, 2.5, -300])
    XCTAssertEqual(s.timestamps, [1_714_564_800_000])
    s = try decode(#"{"value":1}"#)
    XCTAssertEqual(s.timestamps, [DecodedSamples.noTimestamp])
  }

  func testMalformedJSON() {
    let cases: [(String, String)] = [
      (#"{"#, "syntax"), (#"{}"#, "syntax"), (#"{"value":}"#, "syntax"), (#"{"value":"1"}"#, "syntax"),
      (#"{"value":1,"values":[2]}"#, "syntax"), (#"{"values":[]}"#, "syntax"), (#"{"value":1} x"#, "syntax"),
      (#"{"value":1e400}"#, "non_finite"), (#"{"ts":"yesterday","value":1}"#, "bad_timestamp"),
      (#"{"x":"#, "syntax"), (#"{"value":NaN}"#, "syntax"),
      ("{\"a\":" + String(repeating: "[", count: 100) + "}", "syntax"),
    ]
    for (text, reason) in cases {
      XCTAssertThrowsError(try decode(text), text) { error in
        XCTAssertEqual((error as? DecodeError)?.reason, reason, "\(text): \(error)")
      }
    }
  }
}

final class BinaryFrameTests: XCTestCase {
  func testRoundTrip() throws {
    let frame = BinaryFrame.encode(
      timestamps: [1, DecodedSamples.noTimestamp, -5], values: [1, 2, 3, 4, 5.5, -6], channels: 2)
    XCTAssertEqual(frame.count, 8 + 3 * (8 + 16))
    let s = try SampleDecoder.decode(frame)
    XCTAssertEqual(s.channels, 2)
    XCTAssertEqual(s.timestamps, [1, DecodedSamples.noTimestamp, -5])
    XCTAssertEqual(s.values, [1, 2, 3, 4, 5.5, -6])
    XCTAssertEqual(Array(s.sample(1)), [3, 4])
  }

  func testMalformedFrames() {
    let good = BinaryFrame.encode(timestamps: [1], values: [1], channels: 1)
    var wrongVersion = good
    wrongVersion[1] = 2
    var zeroChannels = good
    zeroChannels[2] = 0
    var manyChannels = good
    manyChannels[2] = 0xFF
    manyChannels[3] = 0xFF
    var hugeCount = good
    hugeCount[4...7] = [0xFF, 0xFF, 0xFF, 0xFF]
    var nan = good
    nan.replaceSubrange(16..<24, with: withUnsafeBytes(of: Double.nan.bitPattern.littleEndian, Array.init))
    let cases: [([UInt8], DecodeError)] = [
      (Array(good.prefix(5)), .truncated(expected: 8, actual: 5)),
      (Array(good.dropLast()), .truncated(expected: 24, actual: 23)),
      (good + [0], .truncated(expected: 24, actual: 25)),
      (wrongVersion, .unsupportedVersion(2)),
      (zeroChannels, .syntax("binary frame with 0 channels")),
      (manyChannels, .tooManyChannels(65535)),
      (hugeCount, .truncated(expected: 8 + 4_294_967_295 * 16, actual: 24)),
      (nan, .nonFinite),
    ]
    for (bytes, expected) in cases {
      XCTAssertThrowsError(try SampleDecoder.decode(bytes)) { error in
        XCTAssertEqual(error as? DecodeError, expected)
      }
    }
  }
}

final class ScoreEventTests: XCTestCase {
  func testBodyIsValidJSONWithEveryField() throws {
    let event = ScoreEvent(
      stream: "plant \"7\"/temp", timestampMs: 1_700_000_000_000, values: [95.25], expected: [71.5],
      channelError: [23.75], error: 6.5, errorThreshold: .infinity, score: 0.9999, threshold: 0.999,
      anomaly: true, reason: "stuck", sequence: 258)
    let body = String(decoding: event.encodeBody(), as: UTF8.self)
    XCTAssertEqual(
      body,
      #"{"stream":"plant \"7\"/temp","ts":1700000000000,"values":[95.25],"expected":[71.5],"channel_error":[23.75],"error":6.5,"error_threshold":null,"score":0.9999,"threshold":0.999,"anomaly":true,"reason":"stuck"}"#
    )
    XCTAssertEqual(event.sequenceFrame, [2, 1, 0, 0, 0, 0, 0, 0])
    let parsed = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
    XCTAssertEqual(parsed?["stream"] as? String, "plant \"7\"/temp")
  }
}
