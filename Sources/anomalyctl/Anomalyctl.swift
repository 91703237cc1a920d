import ArgumentParser

@main
struct Anomalyctl: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "anomalyctl",
    abstract: "Control and feed the anomalyd daemon.",
    discussion: """
      Control commands talk to the daemon's Unix control socket (found like the daemon \
      finds it; override with --socket). `publish` and `tail` talk ZeroMQ to its ingest and \
      event endpoints. `replay` runs the daemon's detector offline over a CSV file.

      Examples:
        tail -F readings.log | anomalyctl publish boiler.temp
        anomalyctl tail boiler.
        anomalyctl info ingest
        anomalyctl streams --json
        anomalyctl --json stream boiler.temp
        anomalyctl plot boiler.temp -o boiler.svg
        anomalyctl top
        anomalyctl feedback boiler.temp --false-alarm
      """,
    subcommands: [
      Info.self, Cluster.self, Streams.self, StreamDetail.self, History.self, Plot.self, Top.self, Feedback.self,
      Reset.self,
      Reload.self,
      Metrics.self, Ping.self, Export.self,
      Import.self, Keygen.self,
      Publish.self, Tail.self, Replay.self,
    ])

  /// Accepts the control options before the subcommand too (`anomalyctl --json stream ID`),
  /// as users of `systemctl` or `git -C` expect, by moving them after the subcommand's name.
  static func main() {
    main(movingLeadingOptions(Array(CommandLine.arguments.dropFirst())))
  }

  /// `--json`, `--socket PATH` and `--socket=PATH` found before the first other word are moved
  /// to just after it; everything else keeps its order.
  static func movingLeadingOptions(_ arguments: [String]) -> [String] {
    var leading: [String] = []
    var i = 0
    while i < arguments.count {
      let word = arguments[i]
      if word == "--json" || word.hasPrefix("--socket=") {
        leading.append(word)
        i += 1
      } else if word == "--socket", i + 1 < arguments.count {
        leading += [word, arguments[i + 1]]
        i += 2
      } else {
        break
      }
    }
    guard !leading.isEmpty, i < arguments.count else { return arguments }
    return [arguments[i]] + leading + arguments[(i + 1)...]
  }
}
