import TestSupport
import XCTest

@testable import AnomalyModel

final class StateFuzzCorpusTests: XCTestCase {
  /// The checkpoint inputs the fuzzer kept: each, raw and behind a valid header and checksum
  /// (as the fuzz target wraps them), decodes or is refused, and never traps.
  func testStateCorpusNeverTraps() throws {
    let inputs = try fuzzCorpus("state")
    XCTAssertGreaterThan(inputs.count, 10)
    for raw in inputs {
      var wrapped = StateWriter()
      for b in Array("ADST".utf8) { wrapped.write(b) }
      wrapped.write(StreamDetector.stateVersion)
      wrapped.write(UInt32(raw.count))
      var crc = StateWriter()
      crc.write(CRC32.checksum(raw[...]))
      for input in [raw, wrapped.bytes + raw + crc.bytes] {
        if let detector = try? StreamDetector.decodeState(input) {
          let values = [Double](repeating: 1, count: detector.channels)
          _ = values.withUnsafeBufferPointer { detector.process($0, DetectorWorkspace()) }
        }
      }
    }
  }
}
