import Wire

/// The `history` reply: a stream's recent readings, for `anomalyctl plot` and for scripts.
extension Daemon {
  /// `{"stream":…,"channels":C,"rows":[{"ts":…,"values":[…],"expected":[…],"band":[…],
  /// "score":…,"anomaly":…,"in_episode":…,"warming_up":…},…]}`, oldest first.
  func historyJSON(_ id: String, channels: Int, _ rows: [StreamHistory.Row]) -> String {
    var out: [UInt8] = []
    out.reserveCapacity(64 + rows.count * (90 + 40 * channels))
    out.append(contentsOf: #"{"stream":"#.utf8)
    JSONText.appendString(id, to: &out)
    out.append(contentsOf: #","channels":\#(channels),"rows":["#.utf8)
    for (i, row) in rows.enumerated() {
      if i > 0 { out.append(UInt8(ascii: ",")) }
      out.append(contentsOf: #"{"ts":\#(row.timestampMs)"#.utf8)
      for (key, list) in [("values", row.values), ("expected", row.expected), ("band", row.band)] {
        out.append(contentsOf: ",\"\(key)\":[".utf8)
        for (k, v) in list.enumerated() {
          if k > 0 { out.append(UInt8(ascii: ",")) }
          JSONText.appendNumber(Double(v), to: &out)
        }
        out.append(UInt8(ascii: "]"))
      }
      out.append(contentsOf: ",\"score\":".utf8)
      JSONText.appendNumber((Double(row.score) * 1e4).rounded() / 1e4, to: &out)
      out.append(
        contentsOf: ",\"anomaly\":\(row.anomaly),\"in_episode\":\(row.inEpisode),\"warming_up\":\(row.warmingUp)}".utf8)
    }
    out.append(contentsOf: "]}\n".utf8)
    return String(decoding: out, as: UTF8.self)
  }

  /// The same as CSV with a header: one row per reading, oldest first.
  func historyText(channels: Int, _ rows: [StreamHistory.Row]) -> String {
    var header = ["ts"]
    for c in 0..<channels { header += ["value_\(c)", "expected_\(c)", "band_\(c)"] }
    header += ["score", "anomaly", "in_episode", "warming_up"]
    var out = header.joined(separator: ",") + "\n"
    for row in rows {
      var fields = [formatTime(row.timestampMs)]
      for c in 0..<channels { fields += ["\(row.values[c])", "\(row.expected[c])", "\(row.band[c])"] }
      fields += [
        String(format: "%.4f", row.score), row.anomaly ? "1" : "0", row.inEpisode ? "1" : "0",
        row.warmingUp ? "1" : "0",
      ]
      out += fields.joined(separator: ",") + "\n"
    }
    return out
  }
}
