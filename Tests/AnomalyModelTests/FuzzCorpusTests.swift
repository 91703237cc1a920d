import TestSupport
import XCTest

@testable import AnomalyModel

final class StateFuzzCorpusTests: XCTestCase {
  /// The checkpoint inputs the fuzzer kept: each, raw and behind a valid header and checksum
  /// (as the fuzz target wraps them) of every version still read, decodes or is refused, and
  /// never traps.
  func testStateCorpusNeverTraps() throws {
    let inputs = try fuzzCorpus("state")
    XCTAssertGreaterThan(inputs.count, 10)
    for raw in inputs {
      var crc = StateWriter()
      crc.write(CRC32.checksum(raw[...]))
      let wrapped = (1...StreamDetector.stateVersion).map { version -> [UInt8] in
        var header = StateWriter()
        for b in Array("ADST".utf8) { header.write(b) }
        header.write(version)
        header.write(UInt32(raw.count))
        return header.bytes + raw + crc.bytes
      }
      for input in [raw] + wrapped {
        if let detector = try? StreamDetector.decodeState(input) {
          let values = [Double](repeating: 1, count: detector.channels)
          _ = values.withUnsafeBufferPointer { detector.process($0, DetectorWorkspace()) }
        }
      }
    }
  }
}
