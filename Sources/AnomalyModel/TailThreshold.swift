#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// An adaptive per-stream alarm threshold on reconstruction errors, in the manner of SPOT
/// (Siffer et al., KDD 2017): extreme-value theory says the excesses of errors over a high
/// quantile `t` follow a Generalised Pareto Distribution, so the error that is exceeded with
/// probability `risk` is
///
///     z_q = t + (σ/γ)·((risk/ζ)^(−γ) − 1),    ζ = P(error > t) ≈ 1 − level
///
/// (`z_q = t − σ·ln(risk/ζ)` when γ = 0). σ and γ are fitted to the excesses by the method
/// of moments: with mean m and variance v of the excesses, γ = ½(1 − m²/v), σ = ½m(1 + m²/v).
/// γ is kept in [0, ½]: a negative shape (a bounded tail) fitted to a few dozen excesses
/// extrapolates far too low, and on plain Gaussian noise it made the alarm rate ten times the
/// nominal `risk`; an exponential-or-heavier tail errs on the side of fewer false alarms.
///
/// Unlike the original SPOT, `t` and the fit are re-estimated every `refitInterval` errors
/// from a ring of the most recent `capacity` errors, so the threshold follows a stream whose
/// noise level changes. Errors above `z_q` enter the ring clipped to `z_q`: one anomaly
/// cannot inflate the tail, while a lasting regime change still raises it step by step.
///
/// The anomaly score is the fitted distribution's probability of a smaller error,
/// `1 − P(error > e)`, in [0, 1]; the alarm fires when the score exceeds `1 − risk`.
public struct TailThreshold: Sendable, Equatable {
  public let level: Double
  public let risk: Double
  public let refitInterval: Int

  public private(set) var ring: [Float]
  public private(set) var filled = 0
  private var next = 0
  private var sinceRefit = 0
  public private(set) var isCalibrated = false

  /// The current tail start `t`, the GPD shape γ and scale σ, and the alarm level `z_q`.
  public private(set) var tailStart: Double = 0
  public private(set) var shape: Double = 0
  public private(set) var scale: Double = 0
  public private(set) var alarmError: Double = .infinity
  /// The measured fraction of ring errors above `tailStart` (ζ).
  public private(set) var tailFraction: Double = 0

  public init(level: Double, risk: Double, capacity: Int, refitInterval: Int) {
    precondition(level > 0 && level < 1 && risk > 0 && risk < 1 - level && capacity >= 8)
    self.level = level
    self.risk = risk
    self.refitInterval = max(1, refitInterval)
    ring = Array(repeating: 0, count: capacity)
  }

  /// The score at which an alarm fires.
  public var alarmScore: Double { 1 - risk }

  /// Adds an error seen during warm-up (no score is produced).
  public mutating func record(_ error: Double) {
    push(Float(error))
  }

  /// Fits the tail to what was recorded so far and starts scoring.
  public mutating func calibrate(scratch: inout [Float]) {
    refit(scratch: &scratch)
    isCalibrated = true
  }

  /// Scores `error` against the current fit, then records it (clipped at `z_q`) and refits
  /// when due. Returns the score in [0, 1].
  public mutating func score(_ error: Double, scratch: inout [Float]) -> Double {
    let result = probabilityBelow(error)
    push(Float(Swift.min(error, alarmError)))
    sinceRefit += 1
    if sinceRefit >= refitInterval { refit(scratch: &scratch) }
    return result
  }

  /// `1 − P(error > e)` under the fitted model: linear below the tail start, GPD above it.
  public func probabilityBelow(_ e: Double) -> Double {
    guard isCalibrated, e.isFinite else { return e.isNaN ? 0 : (isCalibrated ? 1 : 0) }
    if e <= tailStart {
      guard tailStart > 0 else { return 0 }
      return (1 - tailFraction) * Swift.max(0, e) / tailStart
    }
    let excess = e - tailStart
    let exceedance: Double
    if abs(shape) < 1e-6 {
      exceedance = tailFraction * exp(-excess / scale)
    } else {
      let base = 1 + shape * excess / scale
      exceedance = base <= 0 ? 0 : tailFraction * pow(base, -1 / shape)
    }
    return Swift.min(1, Swift.max(0, 1 - exceedance))
  }

  private mutating func push(_ value: Float) {
    ring[next] = value.isFinite ? value : 0
    next = next + 1 == ring.count ? 0 : next + 1
    filled = Swift.min(filled + 1, ring.count)
  }

  private mutating func refit(scratch: inout [Float]) {
    sinceRefit = 0
    guard filled >= 8 else { return }
    scratch.removeAll(keepingCapacity: true)
    scratch.append(contentsOf: ring[0..<filled])
    scratch.sort()
    let index = Swift.min(filled - 1, Int((Double(filled) * level).rounded(.down)))
    let start = Double(scratch[index])
    var count = 0
    var sum = 0.0
    var sumSquares = 0.0
    for value in scratch[(index + 1)...] where Double(value) > start {
      let y = Double(value) - start
      count += 1
      sum += y
      sumSquares += y * y
    }
    tailStart = start
    tailFraction = Swift.max(Double(count), 1) / Double(filled)
    let floorScale = Swift.max(1e-6, 1e-3 * abs(start))
    if count >= 3 {
      let m = sum / Double(count)
      let v = Swift.max(sumSquares / Double(count) - m * m, 0)
      if v > 0 {
        let ratio = m * m / v
        shape = Swift.min(0.5, Swift.max(0, 0.5 * (1 - ratio)))
        scale = Swift.max(floorScale, 0.5 * m * (1 + ratio))
      } else {
        shape = 0
        scale = Swift.max(floorScale, m)
      }
    } else {
      shape = 0
      scale = Swift.max(floorScale, count > 0 ? sum / Double(count) : 0)
    }
    let ratio = risk / tailFraction
    if abs(shape) < 1e-6 {
      alarmError = start - scale * log(ratio)
    } else {
      alarmError = start + scale / shape * (pow(ratio, -shape) - 1)
    }
  }
}
