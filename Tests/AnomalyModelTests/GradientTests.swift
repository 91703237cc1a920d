import XCTest

@testable import AnomalyModel

/// The analytic gradient must match finite differences of the very loss it claims to
/// differentiate, for every parameter block.
final class GradientTests: XCTestCase {
  func testGradientMatchesFiniteDifferences() {
    let shape = ModelShape(channels: 2, hidden: 6, attentionDim: 4, window: 5)
    let model = GRUAttentionModel(shape: shape, seed: 7)
    let workspace = ModelWorkspace()
    var rng = SplitMix64(seed: 99)
    // Fill the window and give the GRU a saved step, so every term is exercised.
    for _ in 0..<8 {
      let x: [Float] = [rng.nextSymmetricUnit(), rng.nextSymmetricUnit()]
      x.withUnsafeBufferPointer { model.advance($0.baseAddress!, workspace) }
    }
    // Sharpen the attention so the softmax is far from uniform.
    for i in shape.query..<shape.readout { model.parameters[i] *= 3 }
    let target: [Float] = [0.4, -0.3]
    let delta: Float = 10  // large: stay in the quadratic part of the Huber loss

    model.predict(workspace)
    let loss = target.withUnsafeBufferPointer {
      model.computeGradient(target: $0.baseAddress!, huberDelta: delta, workspace)
    }
    XCTAssertGreaterThan(loss, 0)
    let analytic = workspace.gradientCopy(count: shape.parameterCount)

    let blocks: [(String, Range<Int>)] = [
      ("gruInput", shape.gruInput..<shape.gruGates), ("gruGates", shape.gruGates..<shape.gruCandidate),
      ("gruCandidate", shape.gruCandidate..<shape.gruBias), ("gruBias", shape.gruBias..<shape.query),
      ("query", shape.query..<shape.key), ("key", shape.key..<shape.readout),
      ("readout", shape.readout..<shape.readoutBias), ("readoutBias", shape.readoutBias..<shape.attentionGain),
      ("attentionGain", shape.attentionGain..<shape.parameterCount),
    ]
    var worst: (Float, Int) = (0, -1)
    for (name, range) in blocks {
      var blockNorm: Float = 0
      for i in range {
        let original = model.parameters[i]
        let h: Float = 1e-2
        model.parameters[i] = original + h
        let up = target.withUnsafeBufferPointer {
          model.lossForTesting(target: $0.baseAddress!, huberDelta: delta, workspace)
        }
        model.parameters[i] = original - h
        let down = target.withUnsafeBufferPointer {
          model.lossForTesting(target: $0.baseAddress!, huberDelta: delta, workspace)
        }
        model.parameters[i] = original
        let numeric = (up - down) / (2 * h)
        let difference = abs(numeric - analytic[i])
        let tolerance = 2e-3 + 2e-2 * max(abs(numeric), abs(analytic[i]))
        XCTAssertLessThanOrEqual(
          difference, tolerance, "\(name)[\(i - range.lowerBound)]: analytic \(analytic[i]) numeric \(numeric)")
        if difference > worst.0 { worst = (difference, i) }
        blockNorm += analytic[i] * analytic[i]
      }
      XCTAssertGreaterThan(blockNorm, 1e-10, "block \(name) receives no gradient")
    }
    print("largest |analytic − numeric| = \(worst.0) at parameter \(worst.1)")
  }

  func testLearningReducesErrorOnAPeriodicSignal() {
    var configuration = DetectorConfiguration()
    configuration.warmup = 100
    let detector = StreamDetector(configuration: configuration, channels: 1)
    let workspace = DetectorWorkspace()
    var early = 0.0
    var late = 0.0
    for i in 0..<4000 {
      let value = [sin(Double(i) * 2 * .pi / 24) * 5 + 20]
      let result = value.withUnsafeBufferPointer { detector.process($0, workspace) }
      if (200..<400).contains(i) { early += result.error }
      if (3800..<4000).contains(i) { late += result.error }
    }
    XCTAssertLessThan(late, early * 0.5, "the model should learn the sine: early \(early), late \(late)")
  }
}
