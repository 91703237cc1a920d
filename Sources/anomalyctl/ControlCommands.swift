import ArgumentParser
import ControlProtocol

#if canImport(Glibc)
  import Glibc
#endif

/// Options every control command takes.
struct ControlOptions: ParsableArguments {
  @Option(
    name: .long, help: ArgumentHelp("The daemon's control socket (default: where anomalyd puts it).", valueName: "path")
  )
  var socket: String?

  @Flag(name: .long, help: "Answer in JSON, for scripts.")
  var json = false

  /// Sends `command` and prints the reply; exits non-zero if the daemon reports an error.
  func run(_ command: ControlCommand) throws {
    print(try send(command), terminator: "")
  }

  /// Sends `command` and returns the reply body; exits non-zero if the daemon reports an error.
  func send(_ command: ControlCommand) throws -> String {
    let path = socket ?? defaultSocketPath()
    let reply: ControlReply
    do {
      reply = try ControlClient.send(ControlRequest(command, json: json), to: path)
    } catch {
      printError("cannot reach anomalyd at \(path): \(error)\n(is it running? pass --socket if it uses another path)")
      throw ExitCode(2)
    }
    guard reply.ok else {
      printError("anomalyd: \(reply.body)")
      throw ExitCode(1)
    }
    return reply.body
  }

  /// Sends `command` asking for JSON whatever `--json` says, for commands that read the reply.
  func sendJSON(_ command: ControlCommand) throws -> String {
    var options = self
    options.json = true
    return try options.send(command)
  }

  /// The daemon's default, or the systemd location if only that one exists.
  func defaultSocketPath() -> String {
    let environment = ControlPaths.processEnvironment
    let path = ControlPaths.defaultSocket(environment: environment)
    let system = "/run/anomalyd/control.sock"
    if access(path, F_OK) != 0 && access(system, F_OK) == 0 { return system }
    return path
  }
}

func printError(_ message: String) {
  var text = message
  if !text.hasSuffix("\n") { text += "\n" }
  let bytes = Array(text.utf8)
  _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

struct Info: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract:
      "Show counters and settings (sections: server, ingest, streams, model, persistence, control, publish, cluster).")
  @Argument(help: "Only this section.") var section: String?
  @OptionGroup var options: ControlOptions
  func run() throws { try options.run(.info(section: section)) }
}

struct Cluster: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Show the cluster: members, partitions held, hand-overs, lease losses, checkpoint ages.",
    discussion: """
      The same as `info cluster`. On a single host (no cluster.postgres_url) it says so. \
      checkpoint_age_seconds gives, per partition this member holds, the seconds since its \
      streams' state was last written to the shared database.
      """)
  @OptionGroup var options: ControlOptions
  func run() throws { try options.run(.info(section: "cluster")) }
}

struct Streams: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "List streams: samples, anomalies, last seen, last score, current threshold.")
  @OptionGroup var options: ControlOptions
  func run() throws { try options.run(.streams) }
}

struct StreamDetail: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "stream",
    abstract: "Show one stream in detail: recent scores, episode state, what its last event drew on.")
  @Argument(help: "The stream id (the ZeroMQ topic).") var id: String
  @OptionGroup var options: ControlOptions
  func run() throws { try options.run(.stream(id: id)) }
}

struct Reset: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Forget what a stream has learned; it starts a new warm-up.")
  @Argument(help: "The stream id.") var id: String
  @OptionGroup var options: ControlOptions
  func run() throws { try options.run(.reset(id: id)) }
}

struct Reload: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Re-read the config file (like SIGHUP); an invalid file keeps the running config.")
  @OptionGroup var options: ControlOptions
  func run() throws { try options.run(.reload) }
}

struct Metrics: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Print Prometheus metrics (text exposition format).")
  @OptionGroup var options: ControlOptions
  func run() throws { try options.run(.metrics) }
}

struct Export: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Write one stream's learned state as a JSON record (to move it to another instance).")
  @Argument(help: "The stream id.") var id: String
  @Option(name: .shortAndLong, help: "Write the record here instead of standard output.") var output: String?
  @OptionGroup var options: ControlOptions
  func run() throws {
    let record = try options.send(.export(id: id))
    guard let output else {
      print(record, terminator: "")
      return
    }
    let fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else {
      printError("anomalyctl export: cannot create \(output): \(String(cString: strerror(errno)))")
      throw ExitCode(1)
    }
    defer { close(fd) }
    let writer = OutputBuffer(fileDescriptor: fd)
    writer.write(record)
    guard writer.flush() else {
      printError("anomalyctl export: writing \(output) failed")
      throw ExitCode(1)
    }
  }
}

struct Import: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Install a stream's learned state from a record made by 'export', replacing what the daemon has.",
    discussion: "The stream resumes from the imported state at its next sample, without a new warm-up.")
  @Argument(help: "The record file ('-' for standard input).") var file: String
  @OptionGroup var options: ControlOptions
  func run() throws {
    let fd = file == "-" ? STDIN_FILENO : open(file, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
      printError("anomalyctl import: cannot open \(file): \(String(cString: strerror(errno)))")
      throw ExitCode(1)
    }
    defer { if fd != STDIN_FILENO { close(fd) } }
    let reader = LineReader(fileDescriptor: fd)
    guard let line = reader.next(), !line.isEmpty else {
      printError("anomalyctl import: \(file) is empty")
      throw ExitCode(1)
    }
    try options.run(.importState(record: String(decoding: line, as: UTF8.self)))
  }
}

struct Ping: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Check that the daemon answers.")
  @OptionGroup var options: ControlOptions
  func run() throws { try options.run(.ping) }
}
