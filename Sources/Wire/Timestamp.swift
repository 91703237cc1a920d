/// Timestamp parsing for the text and JSON formats. All timestamps become Unix milliseconds.
public enum Timestamp {
  /// Parses RFC 3339 (`2024-05-01T12:00:00Z`, `…12:00:00.250+02:00`) and the same with a space
  /// instead of `T` and/or without a zone (then UTC, like NAB's `2014-04-01 00:00:00`).
  public static func parseDate(_ text: UnsafeRawBufferPointer) -> Int64? {
    var p = ByteCursor(text)
    guard let year = p.digits(4), p.take(UInt8(ascii: "-")), let month = p.digits(2),
      p.take(UInt8(ascii: "-")), let day = p.digits(2)
    else { return nil }
    guard (1...12).contains(month), (1...daysInMonth(year, month)).contains(day) else { return nil }
    var millis = daysFromCivil(year: year, month: month, day: day) * 86_400_000
    if p.atEnd { return millis }
    guard p.take(UInt8(ascii: "T")) || p.take(UInt8(ascii: "t")) || p.take(UInt8(ascii: " ")),
      let hour = p.digits(2), p.take(UInt8(ascii: ":")), let minute = p.digits(2),
      p.take(UInt8(ascii: ":")), let second = p.digits(2)
    else { return nil }
    guard hour < 24, minute < 60, second < 61 else { return nil }
    millis += Int64(hour * 3_600_000 + minute * 60_000 + second * 1000)
    if p.take(UInt8(ascii: ".")) {
      var scale: Int64 = 100
      var digits = 0
      while let d = p.digit() {
        millis += Int64(d) * scale
        scale /= 10
        digits += 1
        if digits > 9 { return nil }
      }
      if digits == 0 { return nil }
    }
    if p.atEnd { return millis }
    if p.take(UInt8(ascii: "Z")) || p.take(UInt8(ascii: "z")) { return p.atEnd ? millis : nil }
    let sign: Int64
    if p.take(UInt8(ascii: "+")) {
      sign = 1
    } else if p.take(UInt8(ascii: "-")) {
      sign = -1
    } else {
      return nil
    }
    guard let offsetHours = p.digits(2), p.take(UInt8(ascii: ":")), let offsetMinutes = p.digits(2),
      p.atEnd, offsetHours < 24, offsetMinutes < 60
    else { return nil }
    return millis - sign * Int64(offsetHours * 3_600_000 + offsetMinutes * 60_000)
  }

  /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
  static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
    let y = Int64(month <= 2 ? year - 1 : year)
    let era = (y >= 0 ? y : y - 399) / 400
    let yearOfEra = y - era * 400
    let m = Int64(month)
    let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
    let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
    return era * 146_097 + dayOfEra - 719_468
  }

  static func daysInMonth(_ year: Int, _ month: Int) -> Int {
    switch month {
    case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
    case 4, 6, 9, 11: 30
    default: 31
    }
  }
}

/// A forward-only reader over bytes, for the small hand-written parsers here.
struct ByteCursor {
  let bytes: UnsafeRawBufferPointer
  var index = 0

  init(_ bytes: UnsafeRawBufferPointer) {
    self.bytes = bytes
  }

  var atEnd: Bool { index >= bytes.count }
  var peek: UInt8? { atEnd ? nil : bytes[index] }

  mutating func take(_ byte: UInt8) -> Bool {
    guard peek == byte else { return false }
    index += 1
    return true
  }

  mutating func digit() -> Int? {
    guard let b = peek, b >= 0x30, b <= 0x39 else { return nil }
    index += 1
    return Int(b - 0x30)
  }

  mutating func digits(_ n: Int) -> Int? {
    var value = 0
    for _ in 0..<n {
      guard let d = digit() else { return nil }
      value = value * 10 + d
    }
    return value
  }
}
