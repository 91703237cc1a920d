/// Reconstructs each channel of a multichannel reading from the *other* channels of the same
/// reading, and scores the largest miss: one channel that stopped agreeing with its siblings.
///
/// The model reconstructs a reading from the readings before it; a channel that decouples
/// from the others (a sensor drifting away from the machine it measures, a valve that no longer
/// follows its controller) while staying inside its usual range and rhythm leaves that
/// reconstruction's error ordinary. The relation between channels at the same moment does not:
///
///     ẑ_c = Σ_{k≠c} B_ck z_k + b_c,    residual_c = z_c − ẑ_c
///
/// over the readings as the detector normalises them, `B` learned online by clipped SGD on the
/// squared residuals (its diagonal stays 0, so no channel can copy itself). The largest
/// |residual_c| gets a tail of its own (`TailThreshold`, clipped fit), and its surprise is one
/// more candidate for the detector's score (reason `decoupled`). A shift of the whole machine
/// keeps the channels in agreement and is left to the model and the range checks.
///
/// On the synthetic machine it caught 1–3 more of 12 decoupled channels at every width (3–12
/// channels) for at most 0.3 more false events per 10,000 readings (docs/quality.md). Its weights
/// are `channels²` floats, so it runs for streams of up to `cross_channel_limit` channels.
///
/// A class, so that a stream without the check (every univariate one) carries a nil reference
/// rather than an empty check's bytes inline (160 B a stream).
final class CrossChannelCheck {
  let channels: Int
  /// B row by row (`channels × channels`, diagonal unused and 0), then b.
  private var weights: [Float]
  private var tail: TailThreshold

  init(configuration c: DetectorConfiguration, channels: Int) {
    self.channels = channels
    weights = Array(repeating: 0, count: channels * channels + channels)
    tail = TailThreshold(
      level: c.thresholdLevel, risk: c.risk, memory: c.thresholdWindow, refitInterval: c.thresholdRefit,
      catchUp: c.thresholdCatchUp, correctsForClipping: true)
  }

  /// The largest |residual| of the normalised reading `z`, over the channels that are not
  /// `discrete` (a command pulse is not a channel disagreeing); the residuals are left in
  /// `residuals` (`channels` long) for `learn`.
  func largestResidual(
    _ z: UnsafePointer<Float>, residuals: UnsafeMutablePointer<Float>, leavingOut discrete: borrowing DiscreteChannels?
  ) -> Double {
    let n = channels
    return weights.withUnsafeBufferPointer { w in
      let b = w.baseAddress!
      // The diagonal weights are 0, so each row's full dot product leaves its own channel out.
      Kernels.rowDots(into: residuals, accumulate: false, b, z, rows: n, cols: n)
      var largest: Float = 0
      for c in 0..<n {
        residuals[c] = z[c] - (residuals[c] + b[n * n + c])
        if discrete?.isDiscrete(c) == true { continue }
        largest = Swift.max(largest, abs(residuals[c]))
      }
      return Double(largest)
    }
  }

  /// Warm-up: records the largest residual for the tail's calibration.
  func record(_ largest: Double) { tail.record(largest) }

  func calibrate() { tail.calibrate() }

  /// −log10 of the largest residual's tail probability (0 for an ordinary one).
  func surprise(_ largest: Double) -> Double {
    tail.surprise(largest)
  }

  /// One clipped SGD step on ½ Σ residual_c², the diagonal left at 0.
  func learn(
    _ z: UnsafePointer<Float>, residuals: UnsafePointer<Float>, learningRate: Float, maxGradientNorm: Float
  ) {
    let n = channels
    // The gradient of row c is residual_c · z (without z_c), and of b_c residual_c.
    let zz = Kernels.dot(z, z, n)
    var squaredNorm: Float = 0
    for c in 0..<n { squaredNorm += residuals[c] * residuals[c] * (zz - z[c] * z[c] + 1) }
    let norm = squaredNorm.squareRoot()
    guard norm.isFinite, norm > 0 else { return }
    let step = norm > maxGradientNorm ? learningRate * maxGradientNorm / norm : learningRate
    weights.withUnsafeMutableBufferPointer { w in
      let b = w.baseAddress!
      Kernels.addOuterProduct(b, residuals, scale: step, z, rows: n, cols: n)
      Kernels.axpy(b + n * n, residuals, step, n)
      for c in 0..<n { b[c * n + c] = 0 }
    }
  }

  func encode(into w: inout StateWriter) {
    w.write(weights)
    tail.encode(into: &w)
  }

  func decode(from r: inout StateReader, version: UInt16) throws(StateError) {
    let restored = try r.readFloats(max: 4096 * 4096 + 4096)
    guard restored.count == weights.count, restored.allSatisfy(\.isFinite),
      (0..<channels).allSatisfy({ restored[$0 * channels + $0] == 0 })
    else { throw .invalid("cross-channel weights") }
    weights = restored
    try tail.decode(from: &r, version: version)
  }
}
