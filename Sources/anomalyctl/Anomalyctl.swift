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
      """,
    subcommands: [
      Info.self, Streams.self, StreamDetail.self, Reset.self, Reload.self, Metrics.self, Ping.self, Export.self,
      Import.self, Keygen.self,
      Publish.self, Tail.self, Replay.self,
    ])
}
