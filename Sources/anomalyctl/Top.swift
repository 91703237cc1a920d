import ArgumentParser
import ControlProtocol
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// `anomalyctl top`: the streams ranked by their last score, with a sparkline of their recent
/// scores, refreshed every second.
struct Top: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "A live view of the streams, highest score first, with sparklines of their recent scores.",
    discussion: """
      Refreshes every --interval seconds until interrupted (Ctrl-C). ● marks a stream in an \
      episode (anomalous now); the sparkline shows its last 32 scores, the alarm level at ½ being \
      the middle block. --once prints one screen without clearing, for scripts and pipes.
      """)

  @Option(name: .long, help: "Seconds between refreshes.") var interval = 1.0
  @Option(name: .shortAndLong, help: "Streams shown (the highest scores).") var count = 20
  @Flag(name: .long, help: "Print once and exit.") var once = false
  @OptionGroup var options: ControlOptions

  func validate() throws {
    guard interval >= 0.1 else { throw ValidationError("--interval must be at least 0.1 s") }
    guard count >= 1 else { throw ValidationError("--count must be at least 1") }
  }

  func run() throws {
    let terminal = OutputBuffer(fileDescriptor: STDOUT_FILENO)
    while true {
      let screen = try render()
      // Home and clear, then the screen: a terminal shows it without flicker.
      terminal.write(once ? screen : "\u{1B}[H\u{1B}[2J" + screen)
      guard terminal.flush() else { throw ExitCode(1) }
      if once { return }
      usleep(useconds_t(interval * 1_000_000))
    }
  }

  private struct Row: Decodable {
    var stream: String
    var samples: UInt64
    var anomalies: UInt64
    var lastSeenMs: Int64
    var warmingUp: Bool
    var inEpisode: Bool
    var score: Double?
  }

  private struct Detail: Decodable {
    struct Stream: Decodable { var recentScores: [Double?] }
    var stream: Stream
  }

  private static var decoder: JSONDecoder {
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return decoder
  }

  private func render() throws -> String {
    let rows = try Self.decoder.decode([Row].self, from: Data(options.sendJSON(.streams).utf8))
    let ranked = rows.sorted { ($0.score ?? 0, $1.stream) > ($1.score ?? 0, $0.stream) }.prefix(count)
    let now = Int64(Date().timeIntervalSince1970 * 1000)
    let episodes = rows.filter(\.inEpisode).count
    var out = "anomalyd: \(rows.count) streams, \(episodes) in an episode, \(Self.clock(now)) UTC\n\n"
    let width = max(12, min(40, ranked.map(\.stream.count).max() ?? 12))
    out += "  " + pad("STREAM", width) + "  SCORE  RECENT SCORES (½ = alarm level)     SAMPLES  EVENTS  SEEN\n"
    for row in ranked {
      let detail = try? Self.decoder.decode(Detail.self, from: Data(options.sendJSON(.stream(id: row.stream)).utf8))
      let spark = Self.sparkline(detail?.stream.recentScores.map { $0 ?? 0 } ?? [])
      let mark = row.inEpisode ? "●" : (row.warmingUp ? "·" : " ")
      let score = row.score.map { String(format: "%5.3f", $0) } ?? "    -"
      out += "\(mark) \(pad(String(row.stream.prefix(width)), width))  \(score)  \(pad(spark, 32))  "
      out += String(format: "%9llu  %6llu  %@\n", row.samples, row.anomalies, Self.age(now - row.lastSeenMs))
    }
    if rows.count > ranked.count { out += "  … and \(rows.count - ranked.count) more\n" }
    return out
  }

  /// Scores in [0, 1] as eighth blocks.
  static func sparkline(_ scores: [Double]) -> String {
    let blocks: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
    return String(scores.map { blocks[min(7, max(0, Int(($0 * 8).rounded(.down))))] })
  }

  static func age(_ ms: Int64) -> String {
    let s = max(0, ms / 1000)
    if s < 120 { return "\(s)s ago" }
    if s < 7200 { return "\(s / 60)m ago" }
    return "\(s / 3600)h ago"
  }

  static func clock(_ ms: Int64) -> String {
    let formatter = DateFormatter()
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "HH:mm:ss"
    return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
  }

  private func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
  }
}
