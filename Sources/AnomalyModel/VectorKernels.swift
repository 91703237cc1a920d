/// The few vector operations every model step is made of, eight lanes at a time.
///
/// Swift cannot prove the model's raw pointers do not alias, so it does not auto-vectorise
/// the plain loops; these kernels load and store `SIMD8<Float>` explicitly (unaligned), with a
/// scalar tail for lengths that are not multiples of 8. They are `@inlinable` so that callers in
/// other modules (benchmarks) get them specialised too.
enum Kernels {
  /// y[0..<n] += a · x[0..<n]
  @inlinable @inline(__always)
  static func axpy(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ a: Float, _ n: Int) {
    var i = 0
    let va = SIMD8<Float>(repeating: a)
    while i + 8 <= n {
      let vx = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
      let vy = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self)
      UnsafeMutableRawPointer(y + i).storeBytes(of: vy + va * vx, as: SIMD8<Float>.self)
      i += 8
    }
    while i < n {
      y[i] += a * x[i]
      i += 1
    }
  }

  /// y[0..<n] = a · x[0..<n]
  @inlinable @inline(__always)
  static func scale(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ a: Float, _ n: Int) {
    var i = 0
    let va = SIMD8<Float>(repeating: a)
    while i + 8 <= n {
      let vx = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
      UnsafeMutableRawPointer(y + i).storeBytes(of: va * vx, as: SIMD8<Float>.self)
      i += 8
    }
    while i < n {
      y[i] = a * x[i]
      i += 1
    }
  }

  /// Σ a[i] · b[i]
  @inlinable @inline(__always)
  static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var i = 0
    var acc = SIMD8<Float>(repeating: 0)
    while i + 8 <= n {
      let va = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self)
      let vb = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
      acc += va * vb
      i += 8
    }
    var sum = acc.sum()
    while i < n {
      sum += a[i] * b[i]
      i += 1
    }
    return sum
  }
}

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
    var sum = total.sum()
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

// MARK: - Whole-matrix kernels
//
// The model's matrices are stored row by row, each row `cols` long. Calling a vector kernel
// per row reloads the accumulator and pays the loop set-up for every 8- or 16-float row; these
// keep the running sum (or the shared vector) in registers for the row lengths the model uses
// (8, 16, 32 and 48 with the default sizes, 1 for a univariate read-out).

extension Kernels {
  @inlinable @inline(__always)
  static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
  }

  @inlinable @inline(__always)
  static func store(_ p: UnsafeMutablePointer<Float>, _ v: SIMD8<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
  }

  /// y = (accumulate ? y : 0) + Σ_{i<rows} c[i] · W_i, with W_i = w[i·cols ..< (i+1)·cols].
  @inlinable @inline(__always)
  static func combineRows(
    into y: UnsafeMutablePointer<Float>, accumulate: Bool, _ w: UnsafePointer<Float>,
    _ c: UnsafePointer<Float>, rows: Int, cols: Int
  ) {
    let zero = SIMD8<Float>(repeating: 0)
    switch cols {
    case 1:
      y[0] = (accumulate ? y[0] : 0) + dot(c, w, rows)
    case 8:
      var a0 = accumulate ? load(y) : zero
      for i in 0..<rows { a0 += c[i] * load(w + i * 8) }
      store(y, a0)
    case 16:
      var a0 = accumulate ? load(y) : zero
      var a1 = accumulate ? load(y + 8) : zero
      for i in 0..<rows {
        let row = w + i * 16
        a0 += c[i] * load(row)
        a1 += c[i] * load(row + 8)
      }
      store(y, a0)
      store(y + 8, a1)
    case 32:
      var a0 = accumulate ? load(y) : zero
      var a1 = accumulate ? load(y + 8) : zero
      var a2 = accumulate ? load(y + 16) : zero
      var a3 = accumulate ? load(y + 24) : zero
      for i in 0..<rows {
        let row = w + i * 32
        a0 += c[i] * load(row)
        a1 += c[i] * load(row + 8)
        a2 += c[i] * load(row + 16)
        a3 += c[i] * load(row + 24)
      }
      store(y, a0)
      store(y + 8, a1)
      store(y + 16, a2)
      store(y + 24, a3)
    default:
      if !accumulate { y.update(repeating: 0, count: cols) }
      for i in 0..<rows { axpy(y, w + i * cols, c[i], cols) }
    }
  }

  /// out[i] = W_i · v for i < rows (`accumulate`: out[i] += W_i · v).
  @inlinable @inline(__always)
  static func rowDots(
    into out: UnsafeMutablePointer<Float>, accumulate: Bool, _ w: UnsafePointer<Float>,
    _ v: UnsafePointer<Float>, rows: Int, cols: Int
  ) {
    switch cols {
    case 1:
      let v0 = v[0]
      for i in 0..<rows { out[i] = (accumulate ? out[i] : 0) + w[i] * v0 }
    case 8:
      let v0 = load(v)
      for i in 0..<rows { out[i] = (accumulate ? out[i] : 0) + (load(w + i * 8) * v0).sum() }
    case 16:
      let v0 = load(v)
      let v1 = load(v + 8)
      for i in 0..<rows {
        let row = w + i * 16
        out[i] = (accumulate ? out[i] : 0) + (load(row) * v0 + load(row + 8) * v1).sum()
      }
    default:
      for i in 0..<rows { out[i] = (accumulate ? out[i] : 0) + dot(w + i * cols, v, cols) }
    }
  }

  /// W_i += (scale · a[i]) · b for i < rows: a rank-one update of a row-major matrix.
  @inlinable @inline(__always)
  static func addOuterProduct(
    _ w: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, scale: Float, _ b: UnsafePointer<Float>,
    rows: Int, cols: Int
  ) {
    switch cols {
    case 1:
      axpy(w, a, scale * b[0], rows)
    case 8:
      let b0 = load(b)
      for i in 0..<rows { store(w + i * 8, load(w + i * 8) + (scale * a[i]) * b0) }
    case 16:
      let b0 = load(b)
      let b1 = load(b + 8)
      for i in 0..<rows {
        let row = w + i * 16
        let f = scale * a[i]
        store(row, load(row) + f * b0)
        store(row + 8, load(row + 8) + f * b1)
      }
    case 32:
      let b0 = load(b)
      let b1 = load(b + 8)
      let b2 = load(b + 16)
      let b3 = load(b + 24)
      for i in 0..<rows {
        let row = w + i * 32
        let f = scale * a[i]
        store(row, load(row) + f * b0)
        store(row + 8, load(row + 8) + f * b1)
        store(row + 16, load(row + 16) + f * b2)
        store(row + 24, load(row + 24) + f * b3)
      }
    default:
      for i in 0..<rows { axpy(w + i * cols, b, scale * a[i], cols) }
    }
  }
}
