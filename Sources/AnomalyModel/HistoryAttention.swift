/// Attention over a long history of the stream's own subsequences: it retrieves what followed
/// the earlier moments that looked like this one, hundreds of readings back, where the model's
/// own attention sees only its last `window` states.
///
/// The query is the subsequence of the last m normalised readings (`history_match`); the keys
/// are the subsequences that ended at each of the L moments before (`history_length`); the
/// value of a key is the reading that followed it. A key's score is its negative squared
/// distance to the query,
///
///     D_t(ℓ) = Σ_{k<m} Σ_c (z_{t−k,c} − z_{t−k−ℓ,c})²,
///
/// which is dot-product attention with each key's norm as a bias (−‖q − k‖² = 2 q·k − ‖q‖² −
/// ‖k‖², and ‖q‖² is the same for every key). The retrieved reading is
///
///     r_{t+1} = Σ_ℓ softmax(−D_t(ℓ)/τ) z_{t+1−ℓ},    τ = D_min/2 + m·C·0.01,
///
/// over the lags ℓ ≥ m, so that a key never overlaps the query (a subsequence matches its own
/// shifted self trivially). τ follows the best match: a stream that repeats itself closely
/// draws on its few closest cycles, a noisy one averages more of them; the floor is a tenth of
/// a standard deviation per reading.
///
/// All L distances follow each reading in O(L·C) by the streaming matrix-profile recurrence
///
///     D_t(ℓ) = D_{t−1}(ℓ) + Σ_c (z_{t,c} − z_{t−ℓ,c})² − (z_{t−m,c} − z_{t−m−ℓ,c})²,
///
/// and one lag per reading is recomputed from scratch in turn, so that single-precision
/// rounding cannot accumulate. The smallest distance after a reading is the causal (left)
/// matrix profile at that moment: how far the latest subsequence lies from every earlier one
/// (`add` returns it as a root mean square per reading).
///
/// The retrieved reading is a feature of the read-out (`RecursiveReadout`), which weighs it
/// against the recurrent state per stream: where the stream repeats itself the reconstruction
/// comes from its history, and a reading unlike what followed the same phase before is an
/// error. The nearest-match distance itself is not scored: as a tail of its own (checkpoint
/// format 8) it lifted SKAB and the periodic corpus but lowered NAB and the AP of the
/// synthetic and server corpora, so it was retired (docs/quality.md, "The history attention").
///
/// A class, so that a stream without it carries a nil reference; owned by one worker thread.
final class HistoryAttention {
  let channels: Int
  /// L, the lags the keys are taken at.
  let length: Int
  /// m, the length of the query and of each key.
  let match: Int
  /// Readings kept per channel: m + L + 1, the oldest reading a distance needs.
  let capacity: Int
  /// The last `capacity` readings of each channel, channel by channel. The newest is at
  /// `newest` and older ones follow it (modulo `capacity`), so lags ascend along memory.
  private var readings: [Float]
  /// D(ℓ) at index ℓ − 1.
  private var distances: [Float]
  private var newest = 0
  /// Readings seen, up to `capacity + length` (beyond it every lag is complete).
  private(set) var seen = 0
  /// The lag whose distance is recomputed exactly at the next reading.
  private var refreshLag = 1
  /// The smallest distance over the usable lags after the latest reading (the causal matrix
  /// profile), kept for the next retrieval; infinity while no lag is usable.
  private var best = Float.infinity

  init(configuration c: DetectorConfiguration, channels: Int) {
    self.channels = channels
    length = c.historyLength
    match = c.historyMatch
    capacity = c.historyLength + c.historyMatch + 1
    readings = Array(repeating: 0, count: capacity * channels)
    distances = Array(repeating: 0, count: c.historyLength)
  }

  /// The lags whose keys and values are real readings: from m (no overlap with the query) to
  /// the oldest complete key. Empty until 2m readings have been seen.
  private var usableLags: ClosedRange<Int>? {
    let oldest = Swift.min(length, seen - match)
    return oldest >= match ? match...oldest : nil
  }

  /// Writes the retrieved next reading (`channels` values) into `retrieved`, 0 while no key is
  /// usable. `weights` is scratch of at least `length` floats; it is left holding each usable
  /// lag's softmax numerator, the first for the returned range's lower bound (the lags used,
  /// nil while none is).
  @discardableResult func retrieve(
    into retrieved: UnsafeMutablePointer<Float>, weights: UnsafeMutablePointer<Float>
  ) -> ClosedRange<Int>? {
    for c in 0..<channels { retrieved[c] = 0 }
    guard let lags = usableLags else { return nil }
    let temperature = 0.5 * best + 0.01 * Float(match * channels)
    let total = distances.withUnsafeBufferPointer { d in
      HistoryAttention.softmaxNumerators(
        d.baseAddress! + (lags.lowerBound - 1), best: best, scale: 1 / temperature, count: lags.count,
        into: weights)
    }
    let normaliser = 1 / total
    readings.withUnsafeBufferPointer { z in
      for c in 0..<channels {
        let ring = z.baseAddress! + c * capacity
        // The value of the key at lag ℓ is the reading after it, z_{t+1−ℓ}: ℓ − 1 back.
        var sum: Float = 0
        var j = 0
        while j < lags.count {
          let start = (newest + lags.lowerBound - 1 + j) % capacity
          let run = Swift.min(lags.count - j, capacity - start)
          sum += Kernels.dot(weights + j, ring + start, run)
          j += run
        }
        retrieved[c] = sum * normaliser
      }
    }
    return lags
  }

  /// exp(−(d − best)·scale) for `count` distances into `out`, eight at a time; returns their
  /// sum (at least 1: the best lag's). Weights below e⁻¹⁶ are 0: products of readings with
  /// weights near the smallest normal float are denormal, and those cost a hundred cycles
  /// each (they made the first version of this step ten times slower).
  @inline(__always) static func softmaxNumerators(
    _ d: UnsafePointer<Float>, best: Float, scale: Float, count: Int, into out: UnsafeMutablePointer<Float>
  ) -> Float {
    let (shift, factor) = (SIMD8<Float>(repeating: best), SIMD8<Float>(repeating: -scale))
    let floor = SIMD8<Float>(repeating: -16)
    var total = SIMD8<Float>(repeating: 0)
    var j = 0
    while j < count {
      var lanes = shift
      let width = Swift.min(8, count - j)
      if width == 8 {
        lanes = UnsafeRawPointer(d + j).loadUnaligned(as: SIMD8<Float>.self)
      } else {
        for k in 0..<width { lanes[k] = d[j + k] }
      }
      let x = (lanes - shift) * factor
      var e = Kernels.exp(x)
      e.replace(with: SIMD8(repeating: 0), where: x .< floor)
      if width == 8 {
        UnsafeMutableRawPointer(out + j).storeBytes(of: e, as: SIMD8<Float>.self)
      } else {
        for k in 0..<width { out[j + k] = e[k] }
        for k in width..<8 { e[k] = 0 }
      }
      total += e
      j += 8
    }
    return Kernels.horizontalSum(total)
  }

  /// Takes in the normalised reading `z` (`channels` long) and returns the novelty of the
  /// subsequence it ends: the root mean square per reading of the distance to its nearest
  /// earlier match, 0 until a key is usable.
  @discardableResult func add(_ z: UnsafePointer<Float>) -> Double {
    newest = (newest + capacity - 1) % capacity
    if seen < capacity + length { seen += 1 }
    readings.withUnsafeMutableBufferPointer { z0 in
      distances.withUnsafeMutableBufferPointer { d in
        // Two channels a pass where there are two: their changes are summed in registers
        // and the distances loaded and stored once for both.
        var c = 0
        while c < channels {
          let ring = z0.baseAddress! + c * capacity
          let both = c + 1 < channels
          ring[newest] = z[c]
          if both { ring[capacity + newest] = z[c + 1] }
          let leaving = (newest + match) % capacity
          updateDistances(
            d.baseAddress!, ring: UnsafePointer(ring), entering: (z[c], both ? z[c + 1] : 0),
            leaving: (ring[leaving], both ? ring[capacity + leaving] : 0), both: both)
          c += both ? 2 : 1
        }
        let lag = refreshLag
        d[lag - 1] = exactDistance(lag: lag, readings: UnsafePointer(z0.baseAddress!))
      }
    }
    refreshLag = refreshLag % length + 1
    best = nearest()
    return best.isFinite ? Double(Swift.max(0, best) / Float(match * channels)).squareRoot() : 0
  }

  /// The subsequence of the last m readings, newest first, channel by channel within each
  /// reading (`AcceptedPatterns` compares them); nil until m readings have been seen.
  func latestSubsequence() -> [Float]? {
    guard seen >= match else { return nil }
    var out = [Float](repeating: 0, count: match * channels)
    for k in 0..<match {
      for c in 0..<channels { out[k * channels + c] = readings[c * capacity + (newest + k) % capacity] }
    }
    return out
  }

  /// The smallest distance over the usable lags, eight at a time; infinity while none is.
  private func nearest() -> Float {
    guard let lags = usableLags else { return .infinity }
    return distances.withUnsafeBufferPointer { all in
      let d = all.baseAddress! + (lags.lowerBound - 1)
      var lanes = SIMD8<Float>(repeating: .infinity)
      var j = 0
      while j + 8 <= lags.count {
        // `replace(with:where:)`, not the generic `pointwiseMin`, which is a call per use here.
        let next = Kernels.load(d + j)
        lanes.replace(with: next, where: next .< lanes)
        j += 8
      }
      var smallest = lanes.min()
      while j < lags.count {
        smallest = Swift.min(smallest, d[j])
        j += 1
      }
      return smallest
    }
  }

  /// Adds one channel's change to every lag's distance, or two channels' if `both` (the
  /// second channel's ring follows the first's): the pair that enters the window (z_t,
  /// z_{t−ℓ}) and the pair that leaves it (z_{t−m}, z_{t−m−ℓ}), in runs between the ring's wrap
  /// points (the same for every channel).
  @inline(__always) private func updateDistances(
    _ d: UnsafeMutablePointer<Float>, ring: UnsafePointer<Float>, entering: (Float, Float), leaving: (Float, Float),
    both: Bool
  ) {
    var lag = 1
    while lag <= length {
      let recent = (newest + lag) % capacity
      let old = (newest + match + lag) % capacity
      let run = Swift.min(length - lag + 1, capacity - recent, capacity - old)
      if both {
        HistoryAttention.addChanges(
          d + (lag - 1), ring + recent, ring + old, capacity, entering, leaving, run)
      } else {
        HistoryAttention.addChanges(d + (lag - 1), ring + recent, ring + old, entering.0, leaving.0, run)
      }
      lag += run
    }
  }

  /// out[k] += (entering − a[k])² − (leaving − b[k])² for k < n, eight lanes at a time, the
  /// index arithmetic wrapping (n is at most the history's length) instead of checked.
  @inline(__always) private static func addChanges(
    _ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
    _ entering: Float, _ leaving: Float, _ n: Int
  ) {
    let (vEntering, vLeaving) = (SIMD8<Float>(repeating: entering), SIMD8<Float>(repeating: leaving))
    var k = 0
    while k &+ 8 <= n {
      let added = vEntering - UnsafeRawPointer(a + k).loadUnaligned(as: SIMD8<Float>.self)
      let removed = vLeaving - UnsafeRawPointer(b + k).loadUnaligned(as: SIMD8<Float>.self)
      let target = UnsafeMutableRawPointer(out + k)
      let sum = target.loadUnaligned(as: SIMD8<Float>.self) + (added * added - removed * removed)
      target.storeBytes(of: sum, as: SIMD8<Float>.self)
      k &+= 8
    }
    while k < n {
      let (added, removed) = (entering - a[k], leaving - b[k])
      out[k] += added * added - removed * removed
      k &+= 1
    }
  }

  /// The same for two channels whose rings are `gap` floats apart, their changes summed before
  /// they are added to `out`.
  @inline(__always) private static func addChanges(
    _ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ gap: Int,
    _ entering: (Float, Float), _ leaving: (Float, Float), _ n: Int
  ) {
    let (enter0, enter1) = (SIMD8<Float>(repeating: entering.0), SIMD8<Float>(repeating: entering.1))
    let (leave0, leave1) = (SIMD8<Float>(repeating: leaving.0), SIMD8<Float>(repeating: leaving.1))
    let (a1, b1) = (a + gap, b + gap)
    var k = 0
    while k &+ 8 <= n {
      let added0 = enter0 - UnsafeRawPointer(a + k).loadUnaligned(as: SIMD8<Float>.self)
      let removed0 = leave0 - UnsafeRawPointer(b + k).loadUnaligned(as: SIMD8<Float>.self)
      let added1 = enter1 - UnsafeRawPointer(a1 + k).loadUnaligned(as: SIMD8<Float>.self)
      let removed1 = leave1 - UnsafeRawPointer(b1 + k).loadUnaligned(as: SIMD8<Float>.self)
      let change = (added0 * added0 - removed0 * removed0) + (added1 * added1 - removed1 * removed1)
      let target = UnsafeMutableRawPointer(out + k)
      target.storeBytes(of: target.loadUnaligned(as: SIMD8<Float>.self) + change, as: SIMD8<Float>.self)
      k &+= 8
    }
    while k < n {
      let (added0, removed0) = (entering.0 - a[k], leaving.0 - b[k])
      let (added1, removed1) = (entering.1 - a1[k], leaving.1 - b1[k])
      out[k] += (added0 * added0 - removed0 * removed0) + (added1 * added1 - removed1 * removed1)
      k &+= 1
    }
  }

  /// D(lag) summed from the readings, for the rolling recomputation: the query's m readings
  /// against the m at `lag` further back, in runs between the ring's wrap points.
  private func exactDistance(lag: Int, readings z: UnsafePointer<Float>) -> Float {
    var total = SIMD8<Float>(repeating: 0)
    var tail: Float = 0
    for c in 0..<channels {
      let ring = z + c * capacity
      var k = 0
      while k < match {
        let (recent, old) = ((newest + k) % capacity, (newest + lag + k) % capacity)
        let run = Swift.min(match - k, capacity - recent, capacity - old)
        var i = 0
        while i + 8 <= run {
          let difference =
            UnsafeRawPointer(ring + recent + i).loadUnaligned(as: SIMD8<Float>.self)
            - UnsafeRawPointer(ring + old + i).loadUnaligned(as: SIMD8<Float>.self)
          total += difference * difference
          i += 8
        }
        while i < run {
          let difference = ring[recent + i] - ring[old + i]
          tail += difference * difference
          i += 1
        }
        k += run
      }
    }
    return Kernels.horizontalSum(total) + tail
  }

  /// The distance at `lag` as the recurrence keeps it, for tests.
  func distance(lag: Int) -> Float { distances[lag - 1] }

  func encode(into w: inout StateWriter) {
    w.write(readings)
    w.write(distances)
    w.write(newest)
    w.write(seen)
    w.write(refreshLag)
  }

  /// `configuration` builds the scratch that reads and drops a version 8 state's novelty tail.
  func decode(from r: inout StateReader, version: UInt16, configuration c: DetectorConfiguration)
    throws(StateError)
  {
    let restoredReadings = try r.readFloats(max: readings.count)
    let restoredDistances = try r.readFloats(max: distances.count)
    let (restoredNewest, restoredSeen, restoredLag) = (try r.readInt(), try r.readInt(), try r.readInt())
    guard restoredReadings.count == readings.count, restoredDistances.count == distances.count,
      restoredReadings.allSatisfy(\.isFinite),
      // Sums of squares, up to rounding; a negative one would turn the softmax upside down.
      restoredDistances.allSatisfy({ $0.isFinite && $0 >= -1 }),
      (0..<capacity).contains(restoredNewest), (0...(capacity + length)).contains(restoredSeen),
      (1...length).contains(restoredLag)
    else { throw .invalid("history attention") }
    readings = restoredReadings
    distances = restoredDistances
    (newest, seen, refreshLag) = (restoredNewest, restoredSeen, restoredLag)
    best = nearest()
    if version == 8 {
      var retired = TailThreshold(
        level: c.thresholdLevel, risk: c.risk, memory: c.thresholdWindow, refitInterval: c.thresholdRefit,
        catchUp: c.thresholdCatchUp, correctsForClipping: false)
      try retired.decode(from: &r, version: version)
    }
  }
}
