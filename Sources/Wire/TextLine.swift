/// The text format: one sample per message, what a shell pipe produces.
///
///     value
///     v1,v2,…
///     timestamp,v1,…
///
/// The first field is a timestamp — and never a value — exactly when it starts with `@`
/// (Unix time in seconds, fractions allowed: `@1700000000.25`) or with four digits and a `-`
/// (a date: RFC 3339 or `YYYY-MM-DD HH:MM:SS`, UTC when no zone is given). Every other field
/// must be a decimal number. Spaces and tabs around fields and a trailing newline are ignored.
public enum TextLine {
  /// Longest accepted line, in bytes.
  public static let maxLength = 65536

  static func decode(_ payload: UnsafeRawBufferPointer, into samples: inout DecodedSamples)
    throws(DecodeError)
  {
    guard payload.count <= maxLength else { throw .syntax("line longer than \(maxLength) bytes") }
    var end = payload.count
    while end > 0, payload[end - 1] == UInt8(ascii: "\n") || payload[end - 1] == UInt8(ascii: "\r") {
      end -= 1
    }
    let line = UnsafeRawBufferPointer(rebasing: payload[0..<end])
    guard validateUTF8(line) else { throw .invalidUTF8 }
    var timestamp = DecodedSamples.noTimestamp
    var channels = 0
    var fieldStart = 0
    var fieldIndex = 0
    var position = 0
    while position <= line.count {
      if position < line.count && line[position] != UInt8(ascii: ",") {
        position += 1
        continue
      }
      let field = trimmed(line, fieldStart, position)
      if fieldIndex == 0, isTimestampField(field) {
        guard let ms = parseTimestampField(field) else {
          throw .badTimestamp(String(decoding: field, as: UTF8.self))
        }
        timestamp = ms
      } else {
        guard !field.isEmpty else {
          throw .syntax(fieldIndex == 0 && line.count == 0 ? "empty line" : "empty field \(fieldIndex + 1)")
        }
        guard let value = NumberParser.parse(field) else {
          throw .syntax("field \(fieldIndex + 1) is not a number: '\(preview(field))'")
        }
        try SampleLimits.check(value)
        channels += 1
        guard channels <= DecodedSamples.maxChannels else { throw .tooManyChannels(channels) }
        samples.values.append(value)
      }
      fieldIndex += 1
      position += 1
      fieldStart = position
    }
    guard channels > 0 else { throw .syntax("no values") }
    samples.channels = channels
    samples.timestamps.append(timestamp)
  }

  static func isTimestampField(_ field: UnsafeRawBufferPointer) -> Bool {
    if field.first == UInt8(ascii: "@") { return true }
    guard field.count >= 5 else { return false }
    for i in 0..<4 where !(field[i] >= 0x30 && field[i] <= 0x39) { return false }
    return field[4] == UInt8(ascii: "-")
  }

  static func parseTimestampField(_ field: UnsafeRawBufferPointer) -> Int64? {
    if field.first == UInt8(ascii: "@") {
      guard let seconds = NumberParser.parse(UnsafeRawBufferPointer(rebasing: field[1...])),
        seconds.isFinite, abs(seconds) < 1e14
      else { return nil }
      return Int64((seconds * 1000).rounded())
    }
    return Timestamp.parseDate(field)
  }

  static func trimmed(_ line: UnsafeRawBufferPointer, _ start: Int, _ end: Int)
    -> UnsafeRawBufferPointer
  {
    var s = start
    var e = end
    while s < e, line[s] == UInt8(ascii: " ") || line[s] == UInt8(ascii: "\t") { s += 1 }
    while e > s, line[e - 1] == UInt8(ascii: " ") || line[e - 1] == UInt8(ascii: "\t") { e -= 1 }
    return UnsafeRawBufferPointer(rebasing: line[s..<e])
  }

  static func preview(_ field: UnsafeRawBufferPointer) -> String {
    String(decoding: field.prefix(40), as: UTF8.self)
  }

  static func validateUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
    // Fast path: plain ASCII, which is what sensors send.
    var allASCII = true
    for b in bytes where b >= 0x80 {
      allASCII = false
      break
    }
    if allASCII { return true }
    var iterator = bytes.makeIterator()
    var decoder = UTF8()
    while true {
      switch decoder.decode(&iterator) {
      case .scalarValue: continue
      case .emptyInput: return true
      case .error: return false
      }
    }
  }
}
