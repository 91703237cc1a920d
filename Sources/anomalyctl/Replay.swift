import AnomalyModel
import ArgumentParser
import DaemonConfig

#if canImport(Glibc)
  import Glibc
#endif

/// `anomalyctl replay`: the daemon's detector, offline, over a CSV file.
struct Replay: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Score a CSV file offline with exactly the daemon's detector and configuration.",
    discussion: """
      Input: a header row, then `timestamp,v1[,v2…]` rows. The timestamp is copied verbatim \
      and never parsed; rows are scored strictly in file order by a fresh detector, one stream \
      with as many channels as value columns, with nothing read ahead.

      Output: `timestamp,<value columns>,anomaly_score,is_anomaly`, one row per input row. \
      anomaly_score is in [0, 1]; is_anomaly is 1 where the detector's own adaptive threshold \
      (with hysteresis) raises an event.

      With --explain, more columns follow, to see why a point scored as it did: \
      `expected` (the reconstruction; one `expected_<column>` per channel when there are \
      several), `error` (the reconstruction error in standard deviations), `error_threshold` \
      (the point tail's adaptive alarm level in the same units), `warming_up` (1 while no \
      alarm can fire yet), `reason` (which evidence gave the score: error, trend, channel, \
      range, stuck, slow, seasonal, decoupled, rare_value, flag_rate; none in warm-up), `slow_surprise` (the slow scale's \
      surprise, −log10 of its block's probability, at a reading that completes a block; 0 \
      elsewhere), `seasonal_surprise` (the same for the block's difference from the blocks \
      one and two periods earlier, in streams with a clear period; 0 elsewhere) and \
      `in_episode` (the episode state, the stream is anomalous now: 1 from the row that raised \
      an event until the readings are back within 2 pre-event standard deviations of their \
      pre-event level, averaged over `alarm_recovery` rows, at most `threshold_window` rows; \
      is_anomaly is 1 on its first row only) \
      and `alarm_score` (anomaly_score as a threshold wanting one detection per incident sees \
      it: halved where it repeats the last 50 rows' scores, inside an episode or its cooldown, \
      and in a recurring burst; NAB's corpus-optimised threshold is applied to it).
      """)

  @Option(name: .long, help: "Input CSV file ('-' for stdin).")
  var input: String

  @Option(name: .long, help: "Output CSV file ('-' for stdout).")
  var output: String

  @Option(name: .long, help: "anomalyd config file whose [detector] section to use (default: built-in).")
  var config: String?

  @Option(
    name: .customLong("set"),
    help: ArgumentHelp("Override a key, e.g. --set detector.risk=1e-4.", valueName: "section.key=value"))
  var overrides: [String] = []

  @Flag(help: "Append the reconstruction, its error and the error threshold to every row.")
  var explain = false

  func run() throws {
    let settings = try offlineConfiguration(file: config, overrides: overrides, command: "replay")
    let inputFD = input == "-" ? STDIN_FILENO : open(input, O_RDONLY | O_CLOEXEC)
    guard inputFD >= 0 else {
      printError("anomalyctl replay: cannot open \(input): \(String(cString: strerror(errno)))")
      throw ExitCode(1)
    }
    let outputFD = output == "-" ? STDOUT_FILENO : open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard outputFD >= 0 else {
      printError("anomalyctl replay: cannot create \(output): \(String(cString: strerror(errno)))")
      throw ExitCode(1)
    }
    defer {
      if inputFD != STDIN_FILENO { close(inputFD) }
      if outputFD != STDOUT_FILENO { close(outputFD) }
    }
    do {
      try ReplayRunner(detector: settings.detector, explain: explain).run(
        input: LineReader(fileDescriptor: inputFD), output: OutputBuffer(fileDescriptor: outputFD))
    } catch let error as ReplayError {
      printError("anomalyctl replay: \(input): \(error.message)")
      throw ExitCode(1)
    }
  }
}

struct ReplayError: Error {
  let message: String
}

/// One scored row, as `ReplayRunner.score` hands it on.
struct ReplayRow {
  /// The input line, verbatim.
  var text: String
  var fields: [Substring]
  var values: [Double]
  var result: ScoredSample
  var detector: StreamDetector
  var workspace: DetectorWorkspace
}

/// Streams rows from a CSV through one detector.
struct ReplayRunner {
  let detector: DetectorConfiguration
  var explain = false

  func run(input: LineReader, output: OutputBuffer) throws {
    try score(input: input) { header in
      let channels = header.count - 1
      output.write(header.joined(separator: ",") + ",anomaly_score,is_anomaly")
      if explain {
        let expected = channels == 1 ? ["expected"] : header.dropFirst().map { "expected_\($0)" }
        output.write(
          ","
            + (expected + [
              "error", "error_threshold", "warming_up", "reason", "slow_surprise", "seasonal_surprise", "in_episode",
              "alarm_score",
            ])
            .joined(separator: ","))
      }
      output.write("\n")
    } row: { row in
      let result = row.result
      output.write(row.text)
      output.write(",\(result.score),\(result.anomaly ? 1 : 0)")
      if explain {
        for c in 0..<row.values.count { output.write(",\(row.workspace.expected[c])") }
        output.write(
          ",\(result.error),\(result.errorThreshold),\(result.warmingUp ? 1 : 0),\(result.reason.rawValue),"
            + "\(result.slowSurprise),\(result.seasonalSurprise),\(row.detector.isAnomalousNow ? 1 : 0),"
            + "\(result.alarmScore)")
      }
      output.write("\n")
    }
    guard output.flush() else {
      throw ReplayError(message: "writing the output failed: \(String(cString: strerror(errno)))")
    }
  }

  /// Scores every row of `input` in order with a fresh detector: `header` gets the header's
  /// fields, `row` each scored row.
  func score(input: LineReader, header: ([Substring]) -> Void, row: (ReplayRow) -> Void) throws {
    guard let headerLine = input.next() else { throw ReplayError(message: "empty file: expected a header row") }
    let names = String(decoding: headerLine, as: UTF8.self).split(separator: ",", omittingEmptySubsequences: false)
    guard names.count >= 2 else {
      throw ReplayError(message: "line 1: header needs a timestamp column and at least one value column")
    }
    header(names)
    let channels = names.count - 1
    let streamDetector = StreamDetector(configuration: detector, channels: channels)
    let workspace = DetectorWorkspace()
    var values = [Double](repeating: 0, count: channels)
    while let line = input.next() {
      if line.isEmpty { continue }
      let text = String(decoding: line, as: UTF8.self)
      let fields = text.split(separator: ",", omittingEmptySubsequences: false)
      guard fields.count == names.count else {
        throw ReplayError(message: "line \(input.lineNumber): \(fields.count) fields, the header has \(names.count)")
      }
      for c in 0..<channels {
        let field = fields[c + 1].trimmingCharacters(in: " \t")
        guard let value = Double(field), value.isFinite, abs(value) <= 1e100 else {
          throw ReplayError(
            message: "line \(input.lineNumber): column \(c + 2) ('\(field.prefix(40))') is not a finite number")
        }
        values[c] = value
      }
      let result = values.withUnsafeBufferPointer { streamDetector.process($0, workspace) }
      row(
        ReplayRow(
          text: text, fields: fields, values: values, result: result, detector: streamDetector, workspace: workspace))
    }
  }
}

extension Substring {
  func trimmingCharacters(in set: String) -> Substring {
    var s = self
    while let first = s.first, set.contains(first) { s.removeFirst() }
    while let last = s.last, set.contains(last) { s.removeLast() }
    return s
  }
}

/// The configuration an offline command (`replay`, `plot --input`) scores with: built-in
/// defaults, then `file`, then `overrides`; exits with status 78 (EX_CONFIG) when invalid.
func offlineConfiguration(file: String?, overrides: [String], command: String) throws -> DaemonConfiguration {
  do {
    let contents = try file.map { path -> String in
      guard let text = readWholeFile(path) else {
        throw ConfigError(key: "", value: "", reason: "cannot read config file", source: path)
      }
      return text
    }
    return try ConfigLoader.load(fileContents: contents, fileName: file ?? "", overrides: overrides)
  } catch {
    printError("anomalyctl \(command): invalid configuration: \(error)")
    throw ExitCode(78)
  }
}

func readWholeFile(_ path: String) -> String? {
  let fd = open(path, O_RDONLY | O_CLOEXEC)
  guard fd >= 0 else { return nil }
  defer { close(fd) }
  let reader = LineReader(fileDescriptor: fd)
  var lines: [String] = []
  while let line = reader.next() { lines.append(String(decoding: line, as: UTF8.self)) }
  return lines.joined(separator: "\n")
}
