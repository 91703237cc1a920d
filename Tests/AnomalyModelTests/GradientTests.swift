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

  /// `learn` applies the gradient without writing it out (its norm from the outer-product
  /// factors); it must equal clipped SGD on the gradient `computeGradient` writes, with the
  /// clip both inactive and active, and with and without a saved GRU step.
  func testLearnIsClippedSGDOnTheComputedGradient() {
    let shape = ModelShape(channels: 3, hidden: 6, attentionDim: 4, window: 5)
    for (steps, maxNorm) in [(0, Float(100)), (8, Float(100)), (8, Float(0.05))] {
      let learned = GRUAttentionModel(shape: shape, seed: 11)
      let manual = GRUAttentionModel(shape: shape, seed: 11)
      let workspace = ModelWorkspace()
      var rng = SplitMix64(seed: 5)
      for _ in 0..<steps {
        let x: [Float] = [rng.nextSymmetricUnit(), rng.nextSymmetricUnit(), rng.nextSymmetricUnit()]
        x.withUnsafeBufferPointer {
          learned.advance($0.baseAddress!, workspace)
          manual.advance($0.baseAddress!, workspace)
        }
      }
      let target: [Float] = [0.9, -0.7, 0.3]
      let rate: Float = 0.05
      manual.predict(workspace)
      _ = target.withUnsafeBufferPointer { manual.computeGradient(target: $0.baseAddress!, huberDelta: 1, workspace) }
      let gradient = workspace.gradientCopy(count: shape.parameterCount)
      let norm = gradient.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
      XCTAssertGreaterThan(norm, 0)
      let step = norm > maxNorm ? rate * maxNorm / norm : rate
      for i in 0..<shape.parameterCount { manual.parameters[i] -= step * gradient[i] }

      learned.predict(workspace)
      _ = target.withUnsafeBufferPointer {
        learned.learn(
          target: $0.baseAddress!, learningRate: rate, huberDelta: 1, maxGradientNorm: maxNorm, workspace)
      }
      var worst: Float = 0
      for i in 0..<shape.parameterCount {
        worst = max(worst, abs(learned.parameters[i] - manual.parameters[i]))
      }
      XCTAssertLessThan(worst, 1e-6, "steps \(steps), max norm \(maxNorm): parameters differ by \(worst)")
      // With no step yet (h = 0, empty window) only the read-out bias can move.
      let initial = GRUAttentionModel(shape: shape, seed: 11)
      let moved = (0..<shape.parameterCount).filter { learned.parameters[$0] != initial.parameters[$0] }.count
      XCTAssertGreaterThanOrEqual(moved, steps == 0 ? shape.channels : 200, "the step moved too few parameters")
    }
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
