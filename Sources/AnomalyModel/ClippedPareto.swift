#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The method of moments for a Generalised Pareto tail whose samples were clipped at its own
/// alarm quantile.
///
/// `TailThreshold` learns from every error clipped at its alarm level `z_q`, so that one
/// anomaly cannot inflate the tail. The clip also removes the largest excesses, which carry the
/// most information about the shape γ: the plain moment estimator, γ = ½(1 − m²/v), then reads
/// a heavy tail as a light one (on simulated excesses clipped at their 1 % quantile, a true
/// γ of 0.25 came out as 0.15, and 0.4 as 0.25), and the alarm level it extrapolates is too
/// low. Matching the moments of the *clipped* distribution instead removes that bias.
///
/// For Y ~ GPD(γ, σ = 1) clipped at c, the quantile exceeded with probability r, and with
/// L = −ln r and h(p) = (e^{pL} − 1)/p:
///
///     E[min(Y, c)]  = h(γ − 1)
///     E[min(Y, c)²] = (2/γ)·(h(2γ − 1) − h(γ − 1))
///
/// (for γ → 0, the exponential's 1 − r and 2(1 − r(1 + L))). The ratio E[min(Y, c)]² /
/// E[min(Y, c)²] depends on γ alone and falls as γ grows, so γ is found by bisection, and σ
/// then scales the mean.
enum ClippedPareto {
  /// The largest shape fitted, as before the correction: heavier tails than this, fitted to a
  /// couple of hundred excesses, are not trusted to extrapolate.
  static let maximumShape = 0.5
  /// Bisection steps: the shape to within 0.5 / 2^14 ≈ 3·10⁻⁵.
  static let bisectionSteps = 14

  /// `E[min(Y, c)]` and `E[min(Y, c)²]` for `Y ~ GPD(shape, 1)` clipped at its quantile
  /// exceeded with probability `exceedance` (in (0, 1)).
  static func clippedMoments(shape: Double, exceedance: Double) -> (mean: Double, squareMean: Double) {
    let logInverse = -log(exceedance)
    if shape < 1e-4 {
      return (1 - exceedance, 2 * (1 - exceedance * (1 + logInverse)))
    }
    func h(_ p: Double) -> Double { abs(p) < 1e-12 ? logInverse : expm1(p * logInverse) / p }
    let mean = h(shape - 1)
    return (mean, 2 / shape * (h(2 * shape - 1) - mean))
  }

  /// The shape and scale whose clipped moments are `excessMean` and `excessSquareMean`, for
  /// excesses clipped at the quantile exceeded with probability `exceedance`; nil when the
  /// excesses are lighter-tailed than an exponential's (the plain estimator's conservative
  /// fit then stands, see `TailThreshold`). The caller ensures `excessMean > 0` and
  /// `excessSquareMean > excessMean²`.
  static func fit(excessMean m: Double, excessSquareMean q: Double, exceedance: Double)
    -> (shape: Double, scale: Double)?
  {
    let target = m * m / q
    func ratio(_ shape: Double) -> Double {
      let moments = clippedMoments(shape: shape, exceedance: exceedance)
      return moments.mean * moments.mean / moments.squareMean
    }
    guard ratio(0) > target else { return nil }
    var shape: Double
    if ratio(maximumShape) >= target {
      shape = maximumShape
    } else {
      var (low, high) = (0.0, maximumShape)
      for _ in 0..<bisectionSteps {
        let middle = (low + high) / 2
        if ratio(middle) > target { low = middle } else { high = middle }
      }
      shape = (low + high) / 2
    }
    return (shape, m / clippedMoments(shape: shape, exceedance: exceedance).mean)
  }
}
