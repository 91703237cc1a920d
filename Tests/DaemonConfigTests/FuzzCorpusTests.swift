import DaemonConfig
import TestSupport
import XCTest

/// Replays the config fuzzer's corpus (`tools/fuzz/run.sh config`; it includes the inputs that
/// once aborted the process inside toml++): every one gives a configuration or a ConfigError.
final class ConfigFuzzCorpusTests: XCTestCase {
  func testConfigCorpusNeverCrashes() throws {
    let inputs = try fuzzCorpus("config")
    XCTAssertGreaterThan(inputs.count, 100)
    var accepted = 0
    for bytes in inputs {
      do {
        _ = try ConfigLoader.load(fileContents: String(decoding: bytes, as: UTF8.self), fileName: "fuzz.toml")
        accepted += 1
      } catch {
        XCTAssertFalse(error.description.isEmpty)
      }
    }
    // Both outcomes occur: the corpus is not all garbage, nor all valid.
    XCTAssertGreaterThan(accepted, 0)
    XCTAssertLessThan(accepted, inputs.count)
  }
}
