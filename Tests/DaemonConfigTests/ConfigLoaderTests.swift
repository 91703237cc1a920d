import AnomalyModel
import DaemonConfig
import Foundation
import XCTest

final class ConfigLoaderTests: XCTestCase {
  func testNoFileGivesTheBuiltInDefaults() throws {
    XCTAssertEqual(try ConfigLoader.load(fileContents: nil), DaemonConfiguration())
  }

  /// The shipped, commented config file must parse and must restate the defaults exactly, so
  /// that its comments cannot drift from the code.
  func testShippedConfigFileStatesTheDefaults() throws {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
      "../../config/anomalyd.toml")
    let text = try String(contentsOf: url, encoding: .utf8)
    XCTAssertEqual(try ConfigLoader.load(fileContents: text, fileName: "anomalyd.toml"), DaemonConfiguration())
  }

  func testFileAndOverrides() throws {
    let toml = """
      [ingest]
      bind = ["tcp://127.0.0.1:6000", "ipc:///tmp/x"]
      max_streams = 10
      [publish]
      mode = "all"
      [detector]
      risk = 1e-4
      warmup = 100
      [control]
      mode = "0600"
      """
    let config = try ConfigLoader.load(
      fileContents: toml, overrides: ["detector.warmup=200", "server.workers=3", "publish.mode=anomalies"])
    XCTAssertEqual(config.ingest.bind, ["tcp://127.0.0.1:6000", "ipc:///tmp/x"])
    XCTAssertEqual(config.ingest.maxStreams, 10)
    XCTAssertEqual(config.detector.risk, 1e-4)
    XCTAssertEqual(config.detector.warmup, 200)
    XCTAssertEqual(config.server.workers, 3)
    XCTAssertEqual(config.publish.mode, .anomalies)
    XCTAssertEqual(config.control.mode, 0o600)
  }

  func testErrorsNameKeyValueAndReason() {
    let cases: [(String, String)] = [
      ("[ingest]\nmax_streams = \"many\"", "ingest.max_streams = \"many\": must be an integer"),
      ("[ingest]\nmax_stream = 5", "ingest.max_stream = 5: unknown key"),
      ("[detector]\nrisk = 0.5", "detector.risk = 0.5: must be in (0, 1 - threshold_level)"),
      ("[publish]\nmode = \"some\"", "publish.mode = some: must be \"anomalies\" or \"all\""),
      ("[ingest]\nbind = [\"udp://x\"]", "endpoint = udp://x: must start with tcp://, ipc:// or inproc://"),
      ("[nonsense]\nx = 1", "nonsense = [...]: unknown section"),
      ("[server]\nworkers = -1", "server.workers = -1: must be between 0 and 256"),
      ("[detector]\nwarmup = 3", "detector.warmup = 3: must be between 16 and 10000000"),
    ]
    for (toml, expected) in cases {
      XCTAssertThrowsError(try ConfigLoader.load(fileContents: toml, fileName: "f.toml"), toml) { error in
        XCTAssertTrue("\(error)".contains(expected), "got '\(error)', expected it to contain '\(expected)'")
      }
    }
    XCTAssertThrowsError(try ConfigLoader.load(fileContents: "[ingest\nx=", fileName: "f.toml")) { error in
      XCTAssertTrue("\(error)".hasPrefix("f.toml: not valid TOML at line 1"), "\(error)")
    }
    XCTAssertThrowsError(try ConfigLoader.load(fileContents: nil, overrides: ["nodot=1"])) { error in
      XCTAssertTrue("\(error)".contains("expected section.key=value"), "\(error)")
    }
  }
}
