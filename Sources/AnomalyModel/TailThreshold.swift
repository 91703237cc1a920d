#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// An adaptive per-stream alarm threshold on reconstruction errors, in the manner of SPOT
/// (Siffer et al., KDD 2017): extreme-value theory says the excesses of errors over a high
/// quantile `t` follow a Generalised Pareto Distribution, so the error exceeded with
/// probability `risk` is
///
///     z_q = t + (σ/γ)·((risk/ζ)^(−γ) − 1),    ζ = P(error > t) ≈ 1 − level
///
/// (`z_q = t − σ·ln(risk/ζ)` when γ = 0). σ and γ are fitted to the excesses by the method
/// of moments. The excesses are learned clipped at `z_q` (below), so the point tail matches
/// the moments of the GPD clipped at its own `risk/ζ` quantile (`ClippedPareto`); the plain
/// estimator, γ = ½(1 − m²/v), read the clipped heavy tails as light ones and alarmed too
/// often on them. γ is kept in [0, ½]: a negative shape (a bounded tail) fitted to a few dozen
/// excesses extrapolates far too low, and on plain Gaussian noise it made the alarm rate ten
/// times the nominal `risk`; an exponential-or-heavier tail errs on the side of fewer false
/// alarms.
///
/// The warm-up errors are fitted exactly (sorted, empirical quantile, moments). After that the
/// fit is kept up to date in constant memory and time, so that it follows a stream whose noise
/// changes: `t` tracks the `level` quantile by stochastic approximation, and ζ and the excess
/// moments are exponentially weighted averages with a memory of about `memory` errors. Errors
/// above `z_q` enter clipped to `z_q`: one anomaly cannot inflate the tail, while a lasting
/// regime change still raises it step by step.
///
/// A fit can also go stale the other way: the warm-up's errors come from a model that has
/// barely started learning, and once it has learned, no error may reach the tail start for
/// thousands of readings. Then nothing updates the excess moments, and the tail start creeps
/// down by its small steps: a new stream stayed deaf to an 11-σ level shift for 3,000 readings
/// (docs/quality.md). Under a correct fit, `catchUp / (1 − level)` errors in a row below the
/// tail start have probability `level^(catchUp / (1 − level))` (2·10⁻¹⁴ at the defaults); after
/// such a run the tail start moves down ten times faster, until an error exceeds it. The run
/// is long enough that a quiet night in a bursty series does not trigger it.
///
/// `logExceedance(e)` gives `ln P(error > e)` under the fit; `ErrorScorer` turns it into the
/// anomaly score.
public struct TailThreshold: Sendable, Equatable {
  public let level: Double
  public let risk: Double
  public let memory: Int
  public let refitInterval: Int
  /// Errors in a row below the tail start, in units of `1 / (1 − level)`, after which the tail
  /// start moves down faster (0: never).
  public let catchUp: Double
  /// Whether the fit matches the moments of the clipped tail (`ClippedPareto`) rather than
  /// the plain ones. Set for the point tail only: the trend, channel and slow-scale tails
  /// measured better with the plain estimator (the synthetic corpus's rhythm faults, a spike
  /// in one channel of several; docs/quality.md).
  public let correctsForClipping: Bool

  /// Errors recorded during the warm-up; emptied once calibrated.
  private var warmupErrors: [Float] = []
  private var sinceRefit = 0
  public private(set) var isCalibrated = false

  /// The current tail start `t`, the GPD shape γ and scale σ, and the alarm level `z_q`.
  public private(set) var tailStart: Double = 0
  public private(set) var shape: Double = 0
  public private(set) var scale: Double = 0
  public private(set) var alarmError: Double = .infinity
  /// The fraction of errors above `tailStart` (ζ).
  public private(set) var tailFraction: Double = 0
  /// Running means of the excesses over `t` and of their squares, and of the errors.
  private var excessMean = 0.0
  private var excessSquareMean = 0.0
  private var errorMean = 0.0
  /// Errors in a row at or below `tailStart`.
  private var belowRun = 0

  public init(
    level: Double, risk: Double, memory: Int, refitInterval: Int, catchUp: Double = 0,
    correctsForClipping: Bool = false
  ) {
    precondition(level > 0 && level < 1 && risk > 0 && risk < 1 - level && memory >= 8)
    self.level = level
    self.risk = risk
    self.memory = memory
    self.refitInterval = max(1, refitInterval)
    self.catchUp = catchUp
    self.correctsForClipping = correctsForClipping
  }

  /// Adds an error seen during warm-up (no score is produced).
  public mutating func record(_ error: Double) {
    warmupErrors.append(error.isFinite ? Float(error) : 0)
  }

  /// Fits the tail to what was recorded so far and starts scoring.
  public mutating func calibrate() {
    let sorted = warmupErrors.sorted()
    warmupErrors = []
    isCalibrated = true
    guard !sorted.isEmpty else { return }
    let index = Swift.min(sorted.count - 1, Int((Double(sorted.count) * level).rounded(.down)))
    tailStart = Double(sorted[index])
    errorMean = sorted.reduce(0.0) { $0 + Double($1) } / Double(sorted.count)
    fitExcesses(of: sorted, clippedAt: .infinity)
    // Every later error enters clipped at the alarm level, and the fit assumes so: refit with
    // the warm-up's excesses clipped at the level their own fit gives.
    if alarmError > tailStart && alarmError.isFinite { fitExcesses(of: sorted, clippedAt: alarmError) }
  }

  private mutating func fitExcesses(of errors: [Float], clippedAt clip: Double) {
    var count = 0
    var sum = 0.0
    var squares = 0.0
    for value in errors where Double(value) > tailStart {
      let y = Swift.min(Double(value), clip) - tailStart
      count += 1
      sum += y
      squares += y * y
    }
    tailFraction = Swift.max(Double(count), 1) / Double(errors.count)
    excessMean = count > 0 ? sum / Double(count) : 0
    excessSquareMean = count > 0 ? squares / Double(count) : 0
    fit()
  }

  /// Scores `error` against the current fit, then learns from it (clipped at `z_q`).
  /// Returns `ln P(error > e)`.
  public mutating func score(_ error: Double) -> Double {
    let result = logExceedance(error)
    update(Swift.min(error.isNaN ? 0 : error, alarmError))
    return result
  }

  /// `score` as a surprise: −log10 P(error > e), at least 0 (a NaN probability counts as
  /// ordinary). What the slow scale, the seasonal and the cross-channel checks report.
  mutating func surprise(_ error: Double) -> Double {
    Swift.max(0, -score(error) / log(10.0))
  }

  /// `1 − P(error > e)` under the fitted model.
  public func probabilityBelow(_ e: Double) -> Double {
    guard isCalibrated else { return 0 }
    return 1 - exp(logExceedance(e))
  }

  /// `ln P(error > e)`: linear interpolation below the tail start, the GPD above it. Computed
  /// in logs so that very surprising errors keep distinct values instead of all rounding to
  /// probability 0. 0 before calibration.
  public func logExceedance(_ e: Double) -> Double {
    guard isCalibrated, !e.isNaN else { return 0 }
    if e <= tailStart {
      guard tailStart > 0 else { return 0 }
      return log(1 - (1 - tailFraction) * Swift.max(0, e) / tailStart)
    }
    guard e.isFinite else { return -.infinity }
    let excess = e - tailStart
    if abs(shape) < 1e-6 { return log(tailFraction) - excess / scale }
    return log(tailFraction) - log1p(shape * excess / scale) / shape
  }

  private mutating func update(_ x: Double) {
    let rate = 1 / Double(memory)
    let above = x > tailStart
    tailFraction += rate * ((above ? 1 : 0) - tailFraction)
    errorMean += rate * (x - errorMean)
    if above {
      let y = x - tailStart
      let excessRate = Swift.min(1, rate / (1 - level))
      excessMean += excessRate * (y - excessMean)
      excessSquareMean += excessRate * (y * y - excessSquareMean)
    }
    // Stochastic approximation of the `level` quantile, in steps proportional to the error
    // scale: it settles where P(error > t) = 1 − level. Ten times larger steps once the run
    // below `t` shows the fit is stale.
    belowRun = above ? 0 : belowRun + 1
    let stale = catchUp > 0 && Double(belowRun) * (1 - level) >= catchUp
    tailStart += (stale ? 10 : 1) * 10 * rate * Swift.max(errorMean, 1e-12) * ((above ? 1 : 0) - (1 - level))
    tailStart = Swift.max(0, tailStart)
    sinceRefit += 1
    if sinceRefit >= refitInterval { fit() }
  }

  private mutating func fit() {
    sinceRefit = 0
    let floorScale = Swift.max(1e-6, 1e-3 * abs(tailStart))
    let m = excessMean
    let v = Swift.max(excessSquareMean - m * m, 0)
    let zeta = Swift.min(1, Swift.max(tailFraction, 1 / Double(memory)))
    let ratio = risk / zeta
    // The excesses were clipped at the alarm level, the quantile exceeded with probability
    // `ratio` among them: fit the moments of the clipped distribution (`ClippedPareto`).
    if correctsForClipping, m > 0 && v > 0 && ratio < 1,
      let fitted = ClippedPareto.fit(excessMean: m, excessSquareMean: excessSquareMean, exceedance: ratio)
    {
      shape = fitted.shape
      scale = Swift.max(floorScale, fitted.scale)
    } else if m > 0 && v > 0 {
      let ratio = m * m / v
      shape = Swift.min(0.5, Swift.max(0, 0.5 * (1 - ratio)))
      scale = Swift.max(floorScale, 0.5 * m * (1 + ratio))
    } else {
      shape = 0
      scale = Swift.max(floorScale, m)
    }
    if ratio >= 1 {
      alarmError = tailStart
    } else if abs(shape) < 1e-6 {
      alarmError = tailStart - scale * log(ratio)
    } else {
      alarmError = tailStart + scale / shape * (pow(ratio, -shape) - 1)
    }
  }

  func encode(into w: inout StateWriter) {
    w.write(warmupErrors)
    w.write(sinceRefit)
    w.write(isCalibrated)
    for v in [tailStart, shape, scale, alarmError, tailFraction, excessMean, excessSquareMean, errorMean] { w.write(v) }
    w.write(belowRun)
  }

  /// Version 1 and 2 states have no run count (their configuration has catch-up off).
  mutating func decode(from r: inout StateReader, version: UInt16) throws(StateError) {
    warmupErrors = try r.readFloats(max: 10_000_000)
    sinceRefit = try r.readCounter()
    isCalibrated = try r.readBool()
    tailStart = try r.readDouble()
    shape = try r.readDouble()
    scale = try r.readDouble()
    alarmError = try r.readDouble()
    tailFraction = try r.readDouble()
    excessMean = try r.readDouble()
    excessSquareMean = try r.readDouble()
    errorMean = try r.readDouble()
    belowRun = version >= 3 ? try r.readCounter() : 0
    guard [tailStart, shape, scale, tailFraction, excessMean, excessSquareMean, errorMean].allSatisfy(\.isFinite),
      !alarmError.isNaN
    else { throw .invalid("threshold") }
  }
}
