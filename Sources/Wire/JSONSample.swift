/// The JSON format: one object per message.
///
///     {"ts": 1700000000000, "value": 21.5}
///     {"ts": "2024-05-01T12:00:00Z", "values": [1.0, 2.5]}
///
/// `ts` (optional) is Unix milliseconds or an RFC 3339 string. Exactly one of `value` (a
/// number) or `values` (a non-empty array of numbers) is required. Other keys are ignored.
/// A small strict parser is used rather than Foundation: it allocates nothing for numbers,
/// bounds nesting depth, and can be fuzzed with the rest of the module.
public enum JSONSample {
  public static let maxLength = 65536
  static let maxDepth = 32

  static func decode(_ payload: UnsafeRawBufferPointer, into samples: inout DecodedSamples)
    throws(DecodeError)
  {
    guard payload.count <= maxLength else { throw .syntax("JSON longer than \(maxLength) bytes") }
    guard TextLine.validateUTF8(payload) else { throw .invalidUTF8 }
    var parser = JSONScanner(cursor: ByteCursor(payload))
    var timestamp = DecodedSamples.noTimestamp
    var sawValue = false
    var sawValues = false
    try parser.expect(UInt8(ascii: "{"))
    parser.skipSpace()
    if !parser.cursor.take(UInt8(ascii: "}")) {
      repeat {
        parser.skipSpace()
        let key = try parser.string()
        parser.skipSpace()
        try parser.expect(UInt8(ascii: ":"))
        parser.skipSpace()
        switch key {
        case "ts":
          timestamp = try parser.timestamp()
        case "value":
          guard !sawValue && !sawValues else { throw .syntax("more than one of value/values") }
          sawValue = true
          let value = try parser.number()
          try SampleLimits.check(value)
          samples.values.append(value)
        case "values":
          guard !sawValue && !sawValues else { throw .syntax("more than one of value/values") }
          sawValues = true
          try parser.expect(UInt8(ascii: "["))
          parser.skipSpace()
          guard !parser.cursor.take(UInt8(ascii: "]")) else { throw .syntax("values is empty") }
          repeat {
            parser.skipSpace()
            let value = try parser.number()
            try SampleLimits.check(value)
            samples.values.append(value)
            guard samples.values.count <= DecodedSamples.maxChannels else {
              throw .tooManyChannels(samples.values.count)
            }
            parser.skipSpace()
          } while parser.cursor.take(UInt8(ascii: ","))
          try parser.expect(UInt8(ascii: "]"))
        default:
          try parser.skipValue(depth: 1)
        }
        parser.skipSpace()
      } while parser.cursor.take(UInt8(ascii: ","))
      try parser.expect(UInt8(ascii: "}"))
    }
    parser.skipSpace()
    guard parser.cursor.atEnd else { throw .syntax("trailing bytes after the JSON object") }
    guard sawValue || sawValues else { throw .syntax("missing \"value\" or \"values\"") }
    samples.channels = samples.values.count
    samples.timestamps.append(timestamp)
  }
}

/// Token-level reading of JSON text.
struct JSONScanner {
  var cursor: ByteCursor

  mutating func skipSpace() {
    while let b = cursor.peek, b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D { cursor.index += 1 }
  }

  mutating func expect(_ byte: UInt8) throws(DecodeError) {
    guard cursor.take(byte) else {
      let found = cursor.peek.map { "'\(Character(Unicode.Scalar($0)))'" } ?? "end of input"
      throw .syntax("expected '\(Character(Unicode.Scalar(byte)))' at byte \(cursor.index), found \(found)")
    }
  }

  mutating func number() throws(DecodeError) -> Double {
    let start = cursor.index
    while let b = cursor.peek,
      (b >= 0x30 && b <= 0x39) || b == UInt8(ascii: "-") || b == UInt8(ascii: "+")
        || b == UInt8(ascii: ".") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E")
    {
      cursor.index += 1
    }
    let text = UnsafeRawBufferPointer(rebasing: cursor.bytes[start..<cursor.index])
    guard let value = NumberParser.parse(text) else {
      throw .syntax("expected a number at byte \(start)")
    }
    return value
  }

  mutating func timestamp() throws(DecodeError) -> Int64 {
    if cursor.peek == UInt8(ascii: "\"") {
      var text = try string()
      guard let ms = text.withUTF8({ Timestamp.parseDate(UnsafeRawBufferPointer($0)) }) else {
        throw .badTimestamp(text)
      }
      return ms
    }
    let value = try number()
    guard value.isFinite, abs(value) < 9e15 else { throw .badTimestamp("\(value)") }
    return Int64(value.rounded())
  }

  /// Reads a string token and returns its decoded text.
  mutating func string() throws(DecodeError) -> String {
    try expect(UInt8(ascii: "\""))
    var bytes: [UInt8] = []
    while true {
      guard let b = cursor.peek else { throw .syntax("unterminated string") }
      cursor.index += 1
      switch b {
      case UInt8(ascii: "\""):
        return String(decoding: bytes, as: UTF8.self)
      case UInt8(ascii: "\\"):
        guard let e = cursor.peek else { throw .syntax("unterminated string") }
        cursor.index += 1
        switch e {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): bytes.append(e)
        case UInt8(ascii: "b"): bytes.append(0x08)
        case UInt8(ascii: "f"): bytes.append(0x0C)
        case UInt8(ascii: "n"): bytes.append(0x0A)
        case UInt8(ascii: "r"): bytes.append(0x0D)
        case UInt8(ascii: "t"): bytes.append(0x09)
        case UInt8(ascii: "u"):
          var scalar: UInt32 = 0
          for _ in 0..<4 {
            guard let h = cursor.peek, let v = hexValue(h) else { throw .syntax("bad \\u escape") }
            cursor.index += 1
            scalar = scalar * 16 + v
          }
          // Lone surrogates cannot be represented; they become U+FFFD like most decoders do.
          let character = Unicode.Scalar(scalar) ?? "\u{FFFD}"
          bytes.append(contentsOf: String(character).utf8)
        default: throw .syntax("bad escape in string")
        }
      case 0..<0x20:
        throw .syntax("control character in string")
      default:
        bytes.append(b)
      }
    }
  }

  /// Skips any JSON value (for keys the format does not use).
  mutating func skipValue(depth: Int) throws(DecodeError) {
    guard depth <= JSONSample.maxDepth else { throw .syntax("nesting deeper than \(JSONSample.maxDepth)") }
    skipSpace()
    switch cursor.peek {
    case UInt8(ascii: "\""):
      _ = try string()
    case UInt8(ascii: "{"):
      cursor.index += 1
      skipSpace()
      if cursor.take(UInt8(ascii: "}")) { return }
      repeat {
        skipSpace()
        _ = try string()
        skipSpace()
        try expect(UInt8(ascii: ":"))
        try skipValue(depth: depth + 1)
        skipSpace()
      } while cursor.take(UInt8(ascii: ","))
      try expect(UInt8(ascii: "}"))
    case UInt8(ascii: "["):
      cursor.index += 1
      skipSpace()
      if cursor.take(UInt8(ascii: "]")) { return }
      repeat {
        try skipValue(depth: depth + 1)
        skipSpace()
      } while cursor.take(UInt8(ascii: ","))
      try expect(UInt8(ascii: "]"))
    case UInt8(ascii: "t"): try literal("true")
    case UInt8(ascii: "f"): try literal("false")
    case UInt8(ascii: "n"): try literal("null")
    default: _ = try number()
    }
  }

  mutating func literal(_ word: String) throws(DecodeError) {
    for b in word.utf8 {
      guard cursor.take(b) else { throw .syntax("invalid literal") }
    }
  }

  func hexValue(_ b: UInt8) -> UInt32? {
    switch b {
    case 0x30...0x39: UInt32(b - 0x30)
    case 0x41...0x46: UInt32(b - 0x41 + 10)
    case 0x61...0x66: UInt32(b - 0x61 + 10)
    default: nil
    }
  }
}
