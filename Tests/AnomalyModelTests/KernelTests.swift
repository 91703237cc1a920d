import Foundation
import XCTest

@testable import AnomalyModel

/// The vectorised exponential and the gate functions built on it, against libm.
final class KernelTests: XCTestCase {
  func testExpMatchesLibmToAFewUlps() {
    var worst: Double = 0
    var x: Float = -87
    while x <= 88 {
      let lanes = SIMD8<Float>((0..<8).map { x + Float($0) * 0.0137 })
      let got = Kernels.exp(lanes)
      for k in 0..<8 where lanes[k] <= 88 {
        let want = Foundation.exp(Double(lanes[k]))
        worst = max(worst, abs(Double(got[k]) - want) / want)
      }
      x += 0.1
    }
    XCTAssertLessThan(worst, 1e-6, "largest relative error \(worst)")
  }

  func testExpSaturatesInsteadOfWrapping() {
    let got = Kernels.exp(SIMD8<Float>(-1e30, -1000, -88, 0, 89, 1000, 1e30, .infinity))
    for k in 0..<8 { XCTAssertTrue(got[k].isFinite && got[k] >= 0, "lane \(k): \(got[k])") }
    XCTAssertLessThan(got[0], 1e-37)
    XCTAssertEqual(got[3], 1)
    XCTAssertGreaterThan(got[6], 1e38)
  }

  func testGateFunctionsAndSoftmaxAgreeWithLibm() {
    let n = 21  // not a multiple of 8: the tail is exercised too
    let x = (0..<n).map { Float($0 - 10) * 0.9 }
    var logistic = [Float](repeating: 0, count: n)
    var tanh = [Float](repeating: 0, count: n)
    var shifted = [Float](repeating: 0, count: n)
    x.withUnsafeBufferPointer { input in
      Kernels.logistic(&logistic, input.baseAddress!, n)
      Kernels.tanh(&tanh, input.baseAddress!, n)
    }
    let sum = x.withUnsafeBufferPointer { Kernels.shiftedExp(&shifted, $0.baseAddress!, shift: 9, n) }
    var expectedSum: Float = 0
    for i in 0..<n {
      XCTAssertEqual(logistic[i], 1 / (1 + Foundation.exp(-x[i])), accuracy: 1e-6)
      XCTAssertEqual(tanh[i], Foundation.tanh(x[i]), accuracy: 1e-6)
      XCTAssertEqual(shifted[i], Foundation.exp(x[i] - 9), accuracy: 1e-6 * max(1, shifted[i]))
      expectedSum += Foundation.exp(x[i] - 9)
    }
    XCTAssertEqual(sum, expectedSum, accuracy: 1e-5)
  }

  /// The tree-ordered lane sums, the dot products built on them and the inline copy, for
  /// every length up to three vectors (each tail length, and lanes of mixed magnitudes).
  func testReductionsAndCopiesMatchPlainLoops() {
    let v = SIMD8<Float>(1, -2, 3.5, 1e4, -1e-3, 7, 0.25, -8)
    XCTAssertEqual(Kernels.horizontalSum(v), (0..<8).reduce(Float(0)) { $0 + v[$1] }, accuracy: 1e-3)
    XCTAssertEqual(Kernels.horizontalSum(SIMD4<Double>(1, -2, 3.5, 1e10)), 1e10 + 2.5)
    for n in 0...24 {
      let a = (0..<n).map { Float($0 % 7) - 2.5 }
      let b = (0..<n).map { Float($0 % 5) * 0.5 + 1 }
      let want = zip(a, b).reduce(Float(0)) { $0 + $1.0 * $1.1 }
      XCTAssertEqual(Kernels.dot(a, b, n), want, accuracy: 1e-4, "n = \(n)")
      let ad = a.map(Double.init)
      let bd = b.map(Double.init)
      XCTAssertEqual(Kernels.dot(ad, bd, n), Double(want), accuracy: 1e-9, "n = \(n)")
      var copied = [Float](repeating: .nan, count: n + 1)
      Kernels.copy(&copied, a, n)
      XCTAssertEqual(Array(copied.prefix(n)), a, "n = \(n)")
      XCTAssertTrue(copied[n].isNaN, "n = \(n): wrote past the end")
    }
  }
}

/// Initial weights come from a cache after the first draw; they must be exactly the draw.
final class InitialParameterTests: XCTestCase {
  func testCachedInitialWeightsEqualAFreshDraw() {
    let shape = ModelShape(channels: 5, hidden: 7, attentionDim: 3, window: 4)
    let first = GRUAttentionModel(shape: shape, seed: 1234)  // draws and caches
    let second = GRUAttentionModel(shape: shape, seed: 1234)  // copies
    XCTAssertEqual(Array(first.parameters), Array(second.parameters))
    // (Each model is kept in a variable: `parameters` points into storage the model owns.)
    let otherSeed = GRUAttentionModel(shape: shape, seed: 1235)
    XCTAssertNotEqual(Array(first.parameters), Array(otherSeed.parameters))
    // A different window shares the parameter layout and the weights.
    let wider = GRUAttentionModel(shape: ModelShape(channels: 5, hidden: 7, attentionDim: 3, window: 9), seed: 1234)
    XCTAssertEqual(Array(first.parameters), Array(wider.parameters))
    // reset() returns to them after learning moved them.
    let workspace = ModelWorkspace()
    let x: [Float] = [0.5, -0.5, 1, 0, 2]
    for _ in 0..<5 {
      x.withUnsafeBufferPointer { second.advance($0.baseAddress!, workspace) }
      second.predict(workspace)
      _ = x.withUnsafeBufferPointer {
        second.learn(target: $0.baseAddress!, learningRate: 0.1, huberDelta: 1, maxGradientNorm: 10, workspace)
      }
    }
    XCTAssertNotEqual(Array(first.parameters), Array(second.parameters))
    second.reset(seed: 1234)
    XCTAssertEqual(Array(first.parameters), Array(second.parameters))
  }
}
