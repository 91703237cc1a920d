/// Screens config text before it reaches the TOML parser.
///
/// toml++ (inside TOMLKit) aborts the whole process on some invalid inputs instead of reporting
/// an error: a table header whose first character is not a bare-key character or a quote
/// (`[é]`, `[.ingest]`, `[!]`, a control character) trips an assertion in its key parser (found
/// by fuzzing the config loader, `tools/fuzz/run.sh config`), and so does a `}` where an array
/// expects a value (`[}`, `[1, }`). A configuration error must never
/// crash the daemon — least of all on a reload — so such text is refused here: table headers
/// must start with a key, `}` may not follow `[` or `,`, and non-ASCII or control characters may appear only inside quoted
/// strings or comments, where TOML allows them and toml++ handles them.
enum TOMLPrecheck {
  /// The first place where the text would reach one of the parser's assertions, and why.
  static func firstProblem(_ text: String) -> (line: Int, column: Int, reason: String)? {
    let bytes = Array(text.utf8)
    var line = 1
    var column = 0
    var i = 0
    enum State { case code, comment, basic, literal, multiBasic, multiLiteral }
    var state = State.code
    var lineHasCode = false
    /// The last character of code outside whitespace and comments (a string counts as its quote).
    var lastSignificant: UInt8 = 0
    func isBareKey(_ c: UInt8) -> Bool {
      (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2D
    }
    func starts(_ pattern: String) -> Bool {
      let p = Array(pattern.utf8)
      return i + p.count <= bytes.count && Array(bytes[i..<(i + p.count)]) == p
    }
    while i < bytes.count {
      let b = bytes[i]
      column += 1
      if b == 0x0A {
        line += 1
        column = 0
        lineHasCode = false
        if state == .comment || state == .basic || state == .literal { state = .code }
        i += 1
        continue
      }
      switch state {
      case .code:
        if b >= 0x80 { return (line, column, "non-ASCII character outside a string or comment") }
        if (b < 0x20 && b != 0x09 && b != 0x0D) || b == 0x7F {
          return (line, column, "control character outside a string or comment")
        }
        if b == UInt8(ascii: "["), !lineHasCode {
          // A table header: its first key must start right (after spaces), or toml++ aborts.
          var j = i + 1
          if j < bytes.count, bytes[j] == UInt8(ascii: "[") { j += 1 }
          while j < bytes.count, bytes[j] == 0x20 || bytes[j] == 0x09 { j += 1 }
          if j < bytes.count, !isBareKey(bytes[j]), bytes[j] != UInt8(ascii: "\""), bytes[j] != UInt8(ascii: "'"),
            bytes[j] != UInt8(ascii: "]")
          {
            return (line, column + j - i, "a table header must start with a key")
          }
        }
        if b == UInt8(ascii: "}"), lastSignificant == UInt8(ascii: "[") || lastSignificant == UInt8(ascii: ",") {
          return (line, column, "expected a value before '}'")
        }
        if b != 0x20 && b != 0x09 && b != 0x0D && b != UInt8(ascii: "#") { lastSignificant = b }
        if b != 0x20 && b != 0x09 { lineHasCode = true }
        if b == UInt8(ascii: "#") {
          state = .comment
        } else if starts("\"\"\"") {
          state = .multiBasic
          i += 2
        } else if starts("'''") {
          state = .multiLiteral
          i += 2
        } else if b == UInt8(ascii: "\"") {
          state = .basic
        } else if b == UInt8(ascii: "'") {
          state = .literal
        }
      case .comment:
        break
      case .basic:
        if b == UInt8(ascii: "\\") {
          i += 1
        } else if b == UInt8(ascii: "\"") {
          state = .code
        }
      case .literal:
        if b == UInt8(ascii: "'") { state = .code }
      case .multiBasic:
        if b == UInt8(ascii: "\\") {
          i += 1
        } else if starts("\"\"\"") {
          state = .code
          i += 2
        }
      case .multiLiteral:
        if starts("'''") {
          state = .code
          i += 2
        }
      }
      i += 1
    }
    return nil
  }
}
