import XCTest

@testable import AnomalyModel

final class KernelTests: XCTestCase {
  func testVectorKernelsMatchScalarLoops() {
    for n in [1, 7, 8, 9, 16, 33] {
      let a = (0..<n).map { Float($0) * 0.5 - 3 }
      let b = (0..<n).map { Float($0 % 5) + 0.25 }
      var y = b
      y.withUnsafeMutableBufferPointer { Kernels.axpy($0.baseAddress!, a, 2, n) }
      XCTAssertEqual(y, zip(a, b).map { 2 * $0 + $1 })
      y.withUnsafeMutableBufferPointer { Kernels.scale($0.baseAddress!, a, -1, n) }
      XCTAssertEqual(y, a.map { -$0 })
      XCTAssertEqual(Kernels.dot(a, b, n), zip(a, b).map(*).reduce(0, +), accuracy: 1e-4)
    }
  }
}
