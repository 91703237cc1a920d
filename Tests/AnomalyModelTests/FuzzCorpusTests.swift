import Foundation
import XCTest

@testable import AnomalyModel

final class StateFuzzCorpusTests: XCTestCase {
  /// The checkpoint inputs the fuzzer kept: each, raw and behind a valid header and checksum
  /// (as the fuzz target wraps them), decodes or is refused, and never traps.
  func testStateCorpusNeverTraps() throws {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Fuzz/state.hex")
    let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
    XCTAssertGreaterThan(lines.count, 10)
    for line in lines {
      let raw = stride(from: 0, to: line.count, by: 2).map { offset -> UInt8 in
        let start = line.index(line.startIndex, offsetBy: offset)
        return UInt8(line[start..<line.index(start, offsetBy: 2)], radix: 16)!
      }
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
