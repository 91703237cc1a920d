import TOMLKit

/// Reads typed values from one TOML section and remembers which keys were used, so that a
/// misspelt key is reported instead of silently ignored.
struct SectionReader {
  let name: String
  let table: TOMLTable
  let source: String
  private var used: Set<String> = []

  init(name: String, table: TOMLTable, source: String) {
    self.name = name
    self.table = table
    self.source = source
  }

  func error(_ key: String, _ value: String, _ reason: String) -> ConfigError {
    ConfigError(key: "\(name).\(key)", value: value, reason: reason, source: source)
  }

  private mutating func raw(_ key: String) -> TOMLValueConvertible? {
    used.insert(key)
    return table[key]
  }

  mutating func read(_ key: String, _ target: inout Int) throws(ConfigError) {
    guard let value = raw(key) else { return }
    guard let int = value.int else { throw error(key, "\(value)", "must be an integer") }
    target = int
  }

  mutating func read(_ key: String, _ target: inout Double) throws(ConfigError) {
    guard let value = raw(key) else { return }
    if let double = value.double {
      target = double
    } else if let int = value.int {
      target = Double(int)
    } else {
      throw error(key, "\(value)", "must be a number")
    }
  }

  mutating func read(_ key: String, _ target: inout Bool) throws(ConfigError) {
    guard let value = raw(key) else { return }
    guard let bool = value.bool else { throw error(key, "\(value)", "must be true or false") }
    target = bool
  }

  mutating func read(_ key: String, _ target: inout String) throws(ConfigError) {
    guard let value = raw(key) else { return }
    guard let string = value.string else { throw error(key, "\(value)", "must be a string") }
    target = string
  }

  mutating func read(_ key: String, _ target: inout [String]) throws(ConfigError) {
    guard let value = raw(key) else { return }
    if let single = value.string {
      target = [single]
      return
    }
    guard let array = value.array else {
      throw error(key, "\(value)", "must be a string or an array of strings")
    }
    var result: [String] = []
    for element in array {
      guard let string = element.string else {
        throw error(key, "\(value)", "must be a string or an array of strings")
      }
      result.append(string)
    }
    target = result
  }

  func rejectUnknownKeys() throws(ConfigError) {
    for key in table.keys where !used.contains(key) {
      throw ConfigError(key: "\(name).\(key)", value: "\(table[key]!)", reason: "unknown key", source: source)
    }
  }
}
