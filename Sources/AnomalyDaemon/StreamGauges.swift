/// What a Prometheus scrape shows of one stream: the figures a dashboard plots and an alert
/// rule tests, copied on the stream's worker thread.
struct StreamGauges: Sendable {
  var id: String
  var score: Double
  var inEpisode: Bool
  var warmingUp: Bool
  var errorThreshold: Double
  var samples: UInt64
  var anomalies: UInt64
  var lastSeenMs: Int64

  init(_ stream: StreamState) {
    id = stream.id
    score = stream.lastScore
    inEpisode = stream.detector.isAnomalousNow
    warmingUp = stream.detector.isWarmingUp
    errorThreshold = stream.detector.threshold.alarmError
    samples = stream.samples
    anomalies = stream.anomalies
    lastSeenMs = stream.lastSeenMs
  }

  /// The `limit` smallest ids, in order, without sorting them all: a worker may hold a million
  /// streams and is scoring while it answers. After the first `limit` ids an insertion is rare
  /// (an id must beat the largest kept one), so this is about one comparison per stream.
  static func firstIDs(_ ids: some Sequence<String>, limit: Int) -> [String] {
    guard limit > 0 else { return [] }
    var kept: [String] = []
    kept.reserveCapacity(limit)
    for id in ids {
      if kept.count == limit {
        guard let last = kept.last, id < last else { continue }
        kept.removeLast()
      }
      var low = 0
      var high = kept.count
      while low < high {
        let mid = (low + high) / 2
        if kept[mid] < id { low = mid + 1 } else { high = mid }
      }
      kept.insert(id, at: low)
    }
    return kept
  }
}

/// Prometheus text exposition format 0.0.4: a metric family at a time.
struct Exposition {
  private(set) var text = ""

  /// One family: its HELP and TYPE lines, then a sample per label set (`labels` already
  /// rendered, `{…}` or empty).
  mutating func family(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: String)]) {
    text += "# HELP anomalyd_\(name) \(help)\n# TYPE anomalyd_\(name) \(type)\n"
    for sample in samples { text += "anomalyd_\(name)\(sample.labels) \(sample.value)\n" }
  }

  mutating func single(_ name: String, _ type: String, _ help: String, _ value: some BinaryInteger) {
    family(name, type, help, [("", "\(value)")])
  }

  /// Per-stream families, labelled `stream`.
  mutating func perStream(
    _ name: String, _ type: String, _ help: String, _ streams: [StreamGauges], _ value: (StreamGauges) -> String
  ) {
    family(name, type, help, streams.map { ("{stream=\"\(Exposition.escapeLabel($0.id))\"}", value($0)) })
  }

  /// A label value as the format wants it: backslash, double quote and newline escaped.
  static func escapeLabel(_ value: String) -> String {
    var out = ""
    out.reserveCapacity(value.utf8.count)
    for c in value.unicodeScalars {
      switch c {
      case "\\": out += "\\\\"
      case "\"": out += "\\\""
      case "\n": out += "\\n"
      default: out.unicodeScalars.append(c)
      }
    }
    return out
  }

  /// A sample value: Go's float syntax, `NaN` and `±Inf` included.
  static func number(_ v: Double) -> String {
    if v.isNaN { return "NaN" }
    if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
    return "\(v)"
  }
}
