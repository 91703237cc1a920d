import TestSupport
import XCTest

@testable import Wire

/// The inputs the fuzzer found interesting, replayed on every test run.
final class FuzzCorpusTests: XCTestCase {
  func testWireCorpusDecodesOrIsRejectedWithAReason() throws {
    let inputs = try fuzzCorpus("wire")
    XCTAssertGreaterThan(inputs.count, 100)
    var accepted = 0
    for input in inputs {
      do {
        let samples = try SampleDecoder.decode(input)
        XCTAssertEqual(samples.values.count, samples.count * samples.channels)
        XCTAssertTrue(samples.values.allSatisfy { $0.isFinite && abs($0) <= SampleLimits.maxMagnitude })
        accepted += 1
      } catch {
        XCTAssertFalse(error.reason.isEmpty)
      }
    }
    XCTAssertGreaterThan(accepted, 0)
  }
}
