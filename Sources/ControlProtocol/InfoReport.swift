import Wire

/// A report made of named sections of `key: value` fields, rendered the way redis `INFO`
/// answers (`# Section` headers, `key:value` lines, units in key names) or as JSON for scripts.
public struct InfoReport: Equatable, Sendable {
  public enum Value: Equatable, Sendable {
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case text(String)
    case bool(Bool)
    /// One value per channel, say: comma-joined in text, an array in JSON.
    indirect case list([Value])
    /// Not applicable or not yet known: the word in text ("off", "never"), null in JSON.
    case none(String)
    /// Named values: `key=value` joined by spaces in text, an object in JSON.
    indirect case object(keys: [String], values: [Value])

    var text: String {
      switch self {
      case .int(let v): String(v)
      case .uint(let v): String(v)
      case .double(let v): v.isFinite ? formatDouble(v) : "null"
      case .text(let v): v
      case .bool(let v): v ? "1" : "0"
      case .list(let items): items.map(\.text).joined(separator: ",")
      case .none(let word): word
      case .object(let keys, let values): zip(keys, values).map { "\($0)=\($1.text)" }.joined(separator: " ")
      }
    }

    var json: String {
      switch self {
      case .int, .uint: text
      case .double(let v): v.isFinite ? formatDouble(v) : "null"
      case .text(let v): quote(v)
      case .bool(let v): v ? "true" : "false"
      case .list(let items): "[" + items.map(\.json).joined(separator: ",") + "]"
      case .none: "null"
      case .object(let keys, let values):
        "{" + zip(keys, values).map { "\(quote($0)):\($1.json)" }.joined(separator: ",") + "}"
      }
    }
  }

  public struct Section: Equatable, Sendable {
    public var name: String
    public var fields: [(String, Value)]

    public init(_ name: String, _ fields: [(String, Value)]) {
      self.name = name
      self.fields = fields
    }

    public static func == (a: Section, b: Section) -> Bool {
      a.name == b.name && a.fields.elementsEqual(b.fields) { $0.0 == $1.0 && $0.1 == $1.1 }
    }

    public func value(_ key: String) -> Value? {
      fields.first { $0.0 == key }?.1
    }
  }

  public var sections: [Section]

  public init(_ sections: [Section]) {
    self.sections = sections
  }

  public var text: String {
    var out = ""
    for (i, section) in sections.enumerated() {
      if i > 0 { out += "\n" }
      out += "# \(section.name.prefix(1).uppercased())\(section.name.dropFirst())\n"
      for (key, value) in section.fields { out += "\(key):\(value.text)\n" }
    }
    return out
  }

  public var json: String {
    let body = sections.map { section in
      let fields = section.fields.map { "\(quote($0.0)):\($0.1.json)" }.joined(separator: ",")
      return "\(quote(section.name)):{\(fields)}"
    }
    return "{" + body.joined(separator: ",") + "}\n"
  }
}

/// Shortest text that reads back as the same Double, without exponent for ordinary values.
func formatDouble(_ v: Double) -> String {
  if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
  return v.description
}

/// A JSON string literal.
public func quote(_ s: String) -> String {
  JSONText.quoted(s)
}
