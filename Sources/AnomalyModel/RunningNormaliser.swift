/// Per-channel running mean and variance that turn raw readings into unit-free inputs.
///
/// The first readings are averaged exactly (rate 1/n); after that the statistics forget with
/// rate `minimumRate`, so a slow drift in level or scale is followed while one outlier moves
/// them little. Anomalous points are fed with a smaller weight so a fault does not become the
/// new normal.
public struct RunningNormaliser: Sendable, Equatable {
  public private(set) var mean: [Double]
  public private(set) var variance: [Double]
  public private(set) var count: UInt64 = 0
  public let minimumRate: Double

  public init(channels: Int, minimumRate: Double) {
    mean = Array(repeating: 0, count: channels)
    variance = Array(repeating: 0, count: channels)
    self.minimumRate = minimumRate
  }

  /// The scale used for channel `c`: never zero, so a constant signal followed by a change
  /// gives a large but finite normalised value.
  @inlinable public func scale(_ c: Int) -> Double {
    let floor = 1e-9 * Swift.max(1, abs(mean[c]))
    return Swift.max(variance[c].squareRoot(), floor)
  }

  /// `(x - mean) / scale`, clipped to ±`clip`.
  @inlinable public func normalise(_ x: Double, channel c: Int, clip: Double) -> Double {
    guard count > 0 else { return 0 }
    let z = (x - mean[c]) / scale(c)
    return Swift.min(Swift.max(z, -clip), clip)
  }

  @inlinable public func denormalise(_ z: Double, channel c: Int) -> Double {
    z * scale(c) + mean[c]
  }

  public mutating func update(_ values: UnsafeBufferPointer<Double>, weight: Double) {
    count += 1
    let rate = Swift.max(1 / Double(count), minimumRate) * weight
    for c in 0..<mean.count {
      let delta = values[c] - mean[c]
      mean[c] += rate * delta
      variance[c] = (1 - rate) * (variance[c] + rate * delta * delta)
    }
  }

  /// Restores statistics saved from an earlier run.
  public mutating func restore(mean: [Double], variance: [Double], count: UInt64) -> Bool {
    guard mean.count == self.mean.count, variance.count == self.variance.count else { return false }
    guard mean.allSatisfy(\.isFinite), variance.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
      return false
    }
    self.mean = mean
    self.variance = variance
    self.count = count
    return true
  }

  func encode(into w: inout StateWriter) {
    w.write(mean)
    w.write(variance)
    w.write(count)
  }

  mutating func decode(from r: inout StateReader) throws(StateError) {
    let mean = try r.readDoubles(max: 4096)
    let variance = try r.readDoubles(max: 4096)
    let count = UInt64(try r.readCounter())
    guard restore(mean: mean, variance: variance, count: count) else { throw .invalid("normaliser") }
  }
}
