#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Parses decimal numbers (`-12`, `3.5`, `1e-3`) from bytes without allocating.
///
/// Only the decimal grammar is accepted (no `nan`, `inf` or hex floats, which `strtod` would
/// take); the digits are then converted by `strtod`, which rounds correctly.
enum NumberParser {
  static let maxLength = 64

  static func parse(_ text: UnsafeRawBufferPointer) -> Double? {
    guard !text.isEmpty, text.count < maxLength, isDecimal(text) else { return nil }
    return withUnsafeTemporaryAllocation(of: CChar.self, capacity: maxLength) { buffer in
      for i in 0..<text.count { buffer[i] = CChar(bitPattern: text[i]) }
      buffer[text.count] = 0
      var end: UnsafeMutablePointer<CChar>?
      let value = strtod(buffer.baseAddress!, &end)
      guard let end, end - buffer.baseAddress! == text.count else { return nil }
      return value
    }
  }

  /// `[+-]? digits [. digits] [(e|E) [+-]? digits]`, with at least one mantissa digit.
  static func isDecimal(_ t: UnsafeRawBufferPointer) -> Bool {
    var i = 0
    let n = t.count
    func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    if i < n, t[i] == UInt8(ascii: "+") || t[i] == UInt8(ascii: "-") { i += 1 }
    var mantissaDigits = 0
    while i < n, isDigit(t[i]) {
      i += 1
      mantissaDigits += 1
    }
    if i < n, t[i] == UInt8(ascii: ".") {
      i += 1
      while i < n, isDigit(t[i]) {
        i += 1
        mantissaDigits += 1
      }
    }
    guard mantissaDigits > 0 else { return false }
    if i < n, t[i] == UInt8(ascii: "e") || t[i] == UInt8(ascii: "E") {
      i += 1
      if i < n, t[i] == UInt8(ascii: "+") || t[i] == UInt8(ascii: "-") { i += 1 }
      var exponentDigits = 0
      while i < n, isDigit(t[i]) {
        i += 1
        exponentDigits += 1
      }
      guard exponentDigits > 0 else { return false }
    }
    return i == n
  }
}
