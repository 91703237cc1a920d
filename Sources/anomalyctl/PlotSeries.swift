import AnomalyModel
import Foundation

/// What `anomalyctl plot` draws: a stream's readings with the detector's view of them.
struct PlotSeries {
  var title: String
  /// Milliseconds since 1970 (from the daemon), or row numbers (from `--input`).
  var x: [Double] = []
  var xIsTime: Bool
  /// Per channel, per reading.
  var values: [[Double]]
  var expected: [[Double]]
  /// Half-width of the threshold band around `expected` (NaN while there is none).
  var band: [[Double]]
  var score: [Double] = []
  var inEpisode: [Bool] = []
  var anomaly: [Bool] = []
  var warmingUp: [Bool] = []
  var channelNames: [String]

  init(title: String, xIsTime: Bool, channelNames: [String]) {
    self.title = title
    self.xIsTime = xIsTime
    self.channelNames = channelNames
    values = Array(repeating: [], count: channelNames.count)
    expected = values
    band = values
  }

  var count: Int { x.count }
  var channels: Int { channelNames.count }

  /// The last `n` readings only.
  mutating func keepLast(_ n: Int) {
    guard n < count else { return }
    let drop = count - n
    x.removeFirst(drop)
    score.removeFirst(drop)
    inEpisode.removeFirst(drop)
    anomaly.removeFirst(drop)
    warmingUp.removeFirst(drop)
    for c in 0..<channels {
      values[c].removeFirst(drop)
      expected[c].removeFirst(drop)
      band[c].removeFirst(drop)
    }
  }

  /// The episodes as index ranges (a run of `inEpisode`, or a lone event).
  var episodes: [ClosedRange<Int>] {
    var result: [ClosedRange<Int>] = []
    var start: Int?
    for i in 0..<count {
      let open = inEpisode[i] || anomaly[i]
      if open, start == nil { start = i }
      if !open, let s = start {
        result.append(s...(i - 1))
        start = nil
      }
    }
    if let s = start { result.append(s...(count - 1)) }
    return result
  }
}

/// The daemon's `history` reply (`json history ID`).
struct HistoryReply: Decodable {
  struct Row: Decodable {
    var ts: Int64
    var values: [Double?]
    var expected: [Double?]
    var band: [Double?]
    var score: Double?
    var anomaly: Bool
    var inEpisode: Bool
    var warmingUp: Bool
  }

  var stream: String
  var channels: Int
  var rows: [Row]

  var series: PlotSeries {
    let names = channels == 1 ? ["value"] : (0..<channels).map { "channel \($0)" }
    var s = PlotSeries(title: stream, xIsTime: true, channelNames: names)
    for row in rows {
      s.x.append(Double(row.ts))
      s.score.append(row.score ?? .nan)
      s.inEpisode.append(row.inEpisode)
      s.anomaly.append(row.anomaly)
      s.warmingUp.append(row.warmingUp)
      for c in 0..<channels {
        s.values[c].append(row.values[c] ?? .nan)
        s.expected[c].append(row.expected[c] ?? .nan)
        s.band[c].append(row.band[c] ?? .nan)
      }
    }
    return s
  }
}

extension PlotSeries {
  /// A recorded series scored offline by `anomalyctl replay`'s runner.
  static func replaying(_ input: LineReader, detector: DetectorConfiguration, title: String) throws -> PlotSeries {
    var series: PlotSeries?
    try ReplayRunner(detector: detector).score(input: input) { header in
      series = PlotSeries(title: title, xIsTime: false, channelNames: header.dropFirst().map(String.init))
    } row: { row in
      guard var s = series else { return }
      series = nil  // Keeps the arrays uniquely referenced while they grow.
      let result = row.result
      s.x.append(Double(s.count))
      s.score.append(result.score)
      s.inEpisode.append(row.detector.isAnomalousNow)
      s.anomaly.append(result.anomaly)
      s.warmingUp.append(result.warmingUp)
      let reach = result.errorThreshold * Double(row.values.count).squareRoot()
      for c in 0..<row.values.count {
        s.values[c].append(row.values[c])
        s.expected[c].append(row.workspace.expected[c])
        s.band[c].append(reach.isFinite ? reach * row.detector.normaliser.scale(c) : .nan)
      }
      series = s
    }
    guard let series else { throw ReplayError(message: "no rows") }
    return series
  }
}
