/// The few vector operations every model step is made of, eight lanes at a time.
///
/// Swift cannot prove the model's raw pointers do not alias, so it does not auto-vectorise
/// the plain loops; these kernels load and store `SIMD8<Float>` explicitly (unaligned), with a
/// scalar tail for lengths that are not multiples of 8. They are `@inlinable` so that callers in
/// other modules (benchmarks) get them specialised too. Their counters wrap (`&+`) instead of
/// checking for overflow: `n` is a buffer's length, and the checks were a fifth of a loop.
enum Kernels {
  /// The sum of the lanes, as a tree: (v₀+v₄ + v₂+v₆) + (v₁+v₅ + v₃+v₇). The standard library's
  /// `sum()` adds the lanes one after another (its order is part of its meaning for floating
  /// point), a chain of eight dependent adds; it was a tenth of a model step's instructions.
  @inlinable @inline(__always)
  static func horizontalSum(_ v: SIMD8<Float>) -> Float {
    let four = v.lowHalf + v.highHalf
    let two = four.lowHalf + four.highHalf
    return two[0] + two[1]
  }

  /// The same for four doubles.
  @inlinable @inline(__always)
  static func horizontalSum(_ v: SIMD4<Double>) -> Double {
    let two = v.lowHalf + v.highHalf
    return two[0] + two[1]
  }

  /// y[0..<n] += a · x[0..<n]
  @inlinable @inline(__always)
  static func axpy(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ a: Float, _ n: Int) {
    var i = 0
    let va = SIMD8<Float>(repeating: a)
    while i &+ 8 <= n {
      let vx = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
      let vy = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self)
      UnsafeMutableRawPointer(y + i).storeBytes(of: vy + va * vx, as: SIMD8<Float>.self)
      i &+= 8
    }
    while i < n {
      y[i] += a * x[i]
      i &+= 1
    }
  }

  /// y[0..<n] = x[0..<n]. The model's copies are 1–48 floats; `update(from:count:)` calls
  /// libc's `memcpy` for each, which cost more than the copy (2 % of a step).
  @inlinable @inline(__always)
  static func copy(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int) {
    var i = 0
    while i &+ 8 <= n {
      let vx = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
      UnsafeMutableRawPointer(y + i).storeBytes(of: vx, as: SIMD8<Float>.self)
      i &+= 8
    }
    while i < n {
      y[i] = x[i]
      i &+= 1
    }
  }

  /// y[0..<n] = a · x[0..<n]
  @inlinable @inline(__always)
  static func scale(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ a: Float, _ n: Int) {
    var i = 0
    let va = SIMD8<Float>(repeating: a)
    while i &+ 8 <= n {
      let vx = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
      UnsafeMutableRawPointer(y + i).storeBytes(of: va * vx, as: SIMD8<Float>.self)
      i &+= 8
    }
    while i < n {
      y[i] = a * x[i]
      i &+= 1
    }
  }

  /// Σ a[i] · b[i]
  @inlinable @inline(__always)
  static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var i = 0
    var acc = SIMD8<Float>(repeating: 0)
    while i &+ 8 <= n {
      let va = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self)
      let vb = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
      acc += va * vb
      i &+= 8
    }
    var sum = horizontalSum(acc)
    while i < n {
      sum += a[i] * b[i]
      i &+= 1
    }
    return sum
  }

  /// Σ a[i] · b[i] in doubles, four lanes at a time (the seasonal check's autocorrelations,
  /// which were a tenth of a step's instructions summed one product at a time).
  @inlinable @inline(__always)
  static func dot(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ n: Int) -> Double {
    var i = 0
    var acc = SIMD4<Double>(repeating: 0)
    while i &+ 4 <= n {
      let va = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD4<Double>.self)
      let vb = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD4<Double>.self)
      acc += va * vb
      i &+= 4
    }
    var sum = horizontalSum(acc)
    while i < n {
      sum += a[i] * b[i]
      i &+= 1
    }
    return sum
  }
}
