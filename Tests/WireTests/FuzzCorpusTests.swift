import Foundation
import XCTest

@testable import Wire

/// Reads a fuzz corpus file: one input per line, hex-encoded (tools/fuzz/run.sh writes it).
func fuzzCorpus(_ name: String, file: String = #filePath) throws -> [[UInt8]] {
  let url = URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent("../Fuzz/\(name).hex")
  return try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map { line in
    var bytes: [UInt8] = []
    var index = line.startIndex
    while index < line.endIndex {
      let next = line.index(index, offsetBy: 2)
      bytes.append(UInt8(line[index..<next], radix: 16)!)
      index = next
    }
    return bytes
  }
}

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
