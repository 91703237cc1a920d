import ControlProtocol
import TestSupport
import XCTest

final class ControlFuzzCorpusTests: XCTestCase {
  func testControlCorpusParsesConsistently() throws {
    let inputs = try fuzzCorpus("control")
    XCTAssertGreaterThan(inputs.count, 10)
    for bytes in inputs {
      let text = String(decoding: bytes, as: UTF8.self)
      if let request = try? ControlRequest.parse(text) {
        XCTAssertEqual(try ControlRequest.parse(request.line), request)
      }
      _ = ControlReply.decode(text)
    }
  }
}
