// The exponential and the gate functions, eight lanes at a time (see `Kernels`).

extension Kernels {
  /// eˣ for eight lanes at once: 2ⁿ · p(r) with x = n·ln 2 + r, |r| ≤ ln 2 / 2, and p the
  /// degree-6 Taylor polynomial (relative error below 4·10⁻⁷, a few float ulps). The softmax
  /// and the GRU's gates need 80 exponentials a step; libm's scalar `expf` and `tanhf` were
  /// a tenth of the step's instructions. Inputs are clamped to where Float's exponent holds.
  @inlinable @inline(__always)
  static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
    // Written with comparisons, bit casts and wrapping integer arithmetic only: Swift's
    // generic SIMD conversions and `clamped` compile to per-lane calls here.
    var clamped = x
    clamped.replace(with: SIMD8(repeating: -87), where: x .< -87)
    clamped.replace(with: SIMD8(repeating: 88), where: x .> 88)
    // Adding 1.5 · 2²³ rounds to an integer held in the low mantissa bits.
    let magic = SIMD8<Float>(repeating: 12_582_912)
    let shifted = clamped * 1.442_695_04 + magic
    let n = shifted - magic
    // ln 2 split in two so that n · ln2High is exact.
    let r = clamped - n * 0.693_145_75 - n * 1.428_606_8e-6
    var p = SIMD8<Float>(repeating: 1.0 / 720)
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    let bits = unsafeBitCast(shifted, to: SIMD8<UInt32>.self) &- unsafeBitCast(magic, to: SIMD8<UInt32>.self)
    let scale = (bits &+ 127) &<< 23
    return p * unsafeBitCast(scale, to: SIMD8<Float>.self)
  }

  /// y[i] = e^(x[i] − shift) for i < n; returns their sum.
  @inlinable @inline(__always)
  static func shiftedExp(
    _ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, shift: Float, _ n: Int
  ) -> Float {
    var i = 0
    var total = SIMD8<Float>(repeating: 0)
    let vs = SIMD8<Float>(repeating: shift)
    while i + 8 <= n {
      let e = exp(UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) - vs)
      UnsafeMutableRawPointer(y + i).storeBytes(of: e, as: SIMD8<Float>.self)
      total += e
      i += 8
    }
    var sum = horizontalSum(total)
    if i < n {
      var lanes = SIMD8<Float>(repeating: shift)
      for k in 0..<(n - i) { lanes[k] = x[i + k] }
      let e = exp(lanes - vs)
      for k in 0..<(n - i) {
        y[i + k] = e[k]
        sum += e[k]
      }
    }
    return sum
  }

  /// y[i] = 1 / (1 + e^(−x[i])) for i < n.
  @inlinable @inline(__always)
  static func logistic(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int) {
    mapLogistic(y, x, n, inputScale: 1, outputScale: 1, outputShift: 0)
  }

  /// y[i] = tanh(x[i]) = 2 / (1 + e^(−2x)) − 1 for i < n.
  @inlinable @inline(__always)
  static func tanh(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int) {
    mapLogistic(y, x, n, inputScale: 2, outputScale: 2, outputShift: -1)
  }

  /// y[i] = outputScale / (1 + e^(−inputScale · x[i])) + outputShift, eight at a time.
  @inlinable @inline(__always)
  static func mapLogistic(
    _ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int,
    inputScale: Float, outputScale: Float, outputShift: Float
  ) {
    var i = 0
    while i < n {
      let count = min(8, n - i)
      var lanes = SIMD8<Float>(repeating: 0)
      if count == 8 {
        lanes = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
      } else {
        for k in 0..<count { lanes[k] = x[i + k] }
      }
      let v = outputScale / (1 + exp(-inputScale * lanes)) + outputShift
      if count == 8 {
        UnsafeMutableRawPointer(y + i).storeBytes(of: v, as: SIMD8<Float>.self)
      } else {
        for k in 0..<count { y[i + k] = v[k] }
      }
      i += 8
    }
  }
}
