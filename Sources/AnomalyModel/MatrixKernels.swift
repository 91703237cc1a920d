// MARK: - Whole-matrix kernels
//
// The model's matrices are stored row by row, each row `cols` long. Calling a vector kernel
// per row reloads the accumulator and pays the loop set-up for every 8- or 16-float row; these
// keep the running sum (or the shared vector) in registers for the row lengths the model uses
// (8, 16, 32 and 48 with the default sizes: hidden 8 for one channel, 16 for several; 1 for a
// univariate read-out). With hidden 8 the GRU's input weights have 24-long rows, which take the
// general path: one row per channel, and a case of their own measured no faster.

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
      for i in 0..<rows { out[i] = (accumulate ? out[i] : 0) + horizontalSum(load(w + i * 8) * v0) }
    case 16:
      let v0 = load(v)
      let v1 = load(v + 8)
      for i in 0..<rows {
        let row = w + i * 16
        out[i] = (accumulate ? out[i] : 0) + horizontalSum(load(row) * v0 + load(row + 8) * v1)
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
