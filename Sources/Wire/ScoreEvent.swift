/// A score event as published on the PUB socket, and its JSON body.
///
/// On the wire an event is three frames: `topic | body | sequence`, where topic is the stream
/// id, body the JSON below and sequence a uint64 little-endian counter per stream that lets a
/// subscriber detect lost messages.
///
///     {"stream":"boiler.temp","ts":1700000000000,"values":[95.2],"expected":[71.9],
///      "channel_error":[23.3],"error":6.1,"error_threshold":3.2,"score":0.78,
///      "threshold":0.5,"anomaly":true,"reason":"error"}
public struct ScoreEvent: Sendable, Equatable {
  public var stream: String
  public var timestampMs: Int64
  public var values: [Double]
  public var expected: [Double]
  public var channelError: [Double]
  public var error: Double
  public var errorThreshold: Double
  public var score: Double
  public var threshold: Double
  public var anomaly: Bool
  /// Which evidence gave the score: error, trend, channel, range, stuck (none in warm-up).
  public var reason: String
  public var sequence: UInt64
  /// On events: the past moments the reconstruction drew on most (its history attention).
  public var moments: [Moment] = []
  /// On events: the channels that carried most of the error, largest first.
  public var errorChannels: [Int] = []

  /// A past reading the reconstruction leaned on: `readingsBack` readings before this one,
  /// at `timestampMs` when the daemon still keeps it, with `weight` of the attention.
  public struct Moment: Sendable, Equatable {
    public var timestampMs: Int64?
    public var readingsBack: Int
    public var weight: Double

    public init(timestampMs: Int64?, readingsBack: Int, weight: Double) {
      self.timestampMs = timestampMs
      self.readingsBack = readingsBack
      self.weight = weight
    }
  }

  public init(
    stream: String, timestampMs: Int64, values: [Double], expected: [Double],
    channelError: [Double], error: Double, errorThreshold: Double, score: Double,
    threshold: Double, anomaly: Bool, reason: String = "none", sequence: UInt64
  ) {
    self.stream = stream
    self.timestampMs = timestampMs
    self.values = values
    self.expected = expected
    self.channelError = channelError
    self.error = error
    self.errorThreshold = errorThreshold
    self.score = score
    self.threshold = threshold
    self.anomaly = anomaly
    self.reason = reason
    self.sequence = sequence
  }

  /// The JSON body.
  public func encodeBody() -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(160 + 24 * values.count * 3 + stream.utf8.count)
    out.append(contentsOf: #"{"stream":"#.utf8)
    JSONText.appendString(stream, to: &out)
    out.append(contentsOf: #","ts":"#.utf8)
    out.append(contentsOf: String(timestampMs).utf8)
    appendArray("values", values, to: &out)
    appendArray("expected", expected, to: &out)
    appendArray("channel_error", channelError, to: &out)
    appendNumber("error", error, to: &out)
    appendNumber("error_threshold", errorThreshold, to: &out)
    appendNumber("score", score, to: &out)
    appendNumber("threshold", threshold, to: &out)
    out.append(contentsOf: #","anomaly":"#.utf8)
    out.append(contentsOf: (anomaly ? "true" : "false").utf8)
    out.append(contentsOf: #","reason":"#.utf8)
    JSONText.appendString(reason, to: &out)
    if !errorChannels.isEmpty {
      out.append(contentsOf: #","error_channels":["#.utf8)
      out.append(contentsOf: errorChannels.map(String.init).joined(separator: ",").utf8)
      out.append(UInt8(ascii: "]"))
    }
    if !moments.isEmpty {
      out.append(contentsOf: #","moments":["#.utf8)
      for (i, moment) in moments.enumerated() {
        if i > 0 { out.append(UInt8(ascii: ",")) }
        out.append(contentsOf: #"{"ts":"#.utf8)
        out.append(contentsOf: (moment.timestampMs.map { String($0) } ?? "null").utf8)
        out.append(contentsOf: #","readings_back":"#.utf8)
        out.append(contentsOf: String(moment.readingsBack).utf8)
        appendNumber("weight", moment.weight, to: &out)
        out.append(UInt8(ascii: "}"))
      }
      out.append(UInt8(ascii: "]"))
    }
    out.append(UInt8(ascii: "}"))
    return out
  }

  /// The sequence frame: uint64 little-endian.
  public var sequenceFrame: [UInt8] {
    withUnsafeBytes(of: sequence.littleEndian) { Array($0) }
  }

  private func appendArray(_ key: String, _ array: [Double], to out: inout [UInt8]) {
    out.append(contentsOf: ",\"\(key)\":[".utf8)
    for (i, v) in array.enumerated() {
      if i > 0 { out.append(UInt8(ascii: ",")) }
      JSONText.appendNumber(v, to: &out)
    }
    out.append(UInt8(ascii: "]"))
  }

  private func appendNumber(_ key: String, _ value: Double, to out: inout [UInt8]) {
    out.append(contentsOf: ",\"\(key)\":".utf8)
    JSONText.appendNumber(value, to: &out)
  }
}

/// JSON text output helpers shared by the event encoder and the control protocol.
public enum JSONText {
  /// Appends a JSON number; non-finite values (which JSON cannot express) become `null`.
  public static func appendNumber(_ value: Double, to out: inout [UInt8]) {
    guard value.isFinite else {
      out.append(contentsOf: "null".utf8)
      return
    }
    if value == value.rounded(), abs(value) < 1e15 {
      out.append(contentsOf: String(Int64(value)).utf8)
    } else {
      out.append(contentsOf: value.description.utf8)
    }
  }

  /// Appends a quoted JSON string with the required escapes.
  public static func appendString(_ text: String, to out: inout [UInt8]) {
    out.append(UInt8(ascii: "\""))
    for b in text.utf8 {
      switch b {
      case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
      case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
      case 0x0A: out.append(contentsOf: #"\n"#.utf8)
      case 0x0D: out.append(contentsOf: #"\r"#.utf8)
      case 0x09: out.append(contentsOf: #"\t"#.utf8)
      case 0..<0x20:
        let hex = Array("0123456789abcdef".utf8)
        out.append(contentsOf: #"\u00"#.utf8)
        out.append(hex[Int(b >> 4)])
        out.append(hex[Int(b & 0xF)])
      default: out.append(b)
      }
    }
    out.append(UInt8(ascii: "\""))
  }

  public static func quoted(_ text: String) -> String {
    var out: [UInt8] = []
    appendString(text, to: &out)
    return String(decoding: out, as: UTF8.self)
  }
}
