import ArgumentParser
import ControlProtocol
import DaemonConfig
import Foundation

/// `anomalyctl plot`: a picture of a stream, from the daemon's recent history of it or from a
/// recorded series scored offline.
struct Plot: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Draw a stream as SVG: readings, expected values, the threshold band, episodes and events.",
    discussion: """
      From the running daemon: the last `server.stream_history` readings it keeps of STREAM \
      (96 by default). With --input: a CSV file (as for `replay`) scored offline by the same \
      detector and configuration, every row (or the last --last rows).

      Examples:
        anomalyctl plot boiler.temp -o boiler.svg
        anomalyctl plot --input boiler.csv --last 2000 -o boiler.svg
        rsvg-convert boiler.svg -o boiler.png     # Debian: librsvg2-bin
      """)

  @Argument(help: "The stream id (not with --input).") var stream: String?
  @Option(name: .shortAndLong, help: "The SVG file to write ('-' for standard output).") var output: String
  @Option(name: .long, help: "A CSV file to score offline and draw instead of a live stream.") var input: String?
  @Option(name: .long, help: "Only the last N readings.") var last: Int?
  @Option(name: .long, help: "With --input: anomalyd config file whose [detector] section to use.") var config: String?
  @Option(
    name: .customLong("set"),
    help: ArgumentHelp("With --input: override a key, e.g. --set detector.risk=1e-4.", valueName: "section.key=value"))
  var overrides: [String] = []
  @OptionGroup var options: ControlOptions

  func validate() throws {
    if (stream == nil) == (input == nil) { throw ValidationError("give either a STREAM or --input FILE") }
    if let last, last < 2 { throw ValidationError("--last must be at least 2") }
  }

  func run() throws {
    var series = try input.map(replayed) ?? live(stream!)
    if let last { series.keepLast(last) }
    let svg = SVGChart(series: series).render()
    guard output != "-" else {
      print(svg, terminator: "")
      return
    }
    do {
      try svg.write(toFile: output, atomically: true, encoding: .utf8)
    } catch {
      printError("anomalyctl plot: cannot write \(output): \(error.localizedDescription)")
      throw ExitCode(1)
    }
    printError(
      "anomalyctl plot: \(series.count) readings of \(series.title), \(series.episodes.count) episodes -> \(output)")
  }

  private func live(_ id: String) throws -> PlotSeries {
    let body = try options.sendJSON(.history(id: id))
    do {
      let decoder = JSONDecoder()
      decoder.keyDecodingStrategy = .convertFromSnakeCase
      return try decoder.decode(HistoryReply.self, from: Data(body.utf8)).series
    } catch {
      printError("anomalyctl plot: unexpected history reply from anomalyd: \(error)")
      throw ExitCode(1)
    }
  }

  private func replayed(_ path: String) throws -> PlotSeries {
    let settings = try offlineConfiguration(file: config, overrides: overrides, command: "plot")
    let fd = path == "-" ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
      printError("anomalyctl plot: cannot open \(path): \(String(cString: strerror(errno)))")
      throw ExitCode(1)
    }
    defer { if fd != STDIN_FILENO { close(fd) } }
    do {
      return try PlotSeries.replaying(
        LineReader(fileDescriptor: fd), detector: settings.detector, title: (path as NSString).lastPathComponent)
    } catch let error as ReplayError {
      printError("anomalyctl plot: \(path): \(error.message)")
      throw ExitCode(1)
    }
  }
}

/// `anomalyctl history`: the readings behind `plot`, as CSV or JSON.
struct History: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Print a stream's recent readings as the detector saw them (CSV; --json for JSON).")
  @Argument(help: "The stream id.") var id: String
  @OptionGroup var options: ControlOptions
  func run() throws { try options.run(.history(id: id)) }
}
