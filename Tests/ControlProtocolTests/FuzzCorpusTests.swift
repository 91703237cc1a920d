import ControlProtocol
import Foundation
import XCTest

final class ControlFuzzCorpusTests: XCTestCase {
  func testControlCorpusParsesConsistently() throws {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Fuzz/control.hex")
    let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
    XCTAssertGreaterThan(lines.count, 10)
    for line in lines {
      let bytes = stride(from: 0, to: line.count, by: 2).map { offset -> UInt8 in
        let start = line.index(line.startIndex, offsetBy: offset)
        return UInt8(line[start..<line.index(start, offsetBy: 2)], radix: 16)!
      }
      let text = String(decoding: bytes, as: UTF8.self)
      if let request = try? ControlRequest.parse(text) {
        XCTAssertEqual(try ControlRequest.parse(request.line), request)
      }
      _ = ControlReply.decode(text)
    }
  }
}
