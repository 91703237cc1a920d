import AnomalyDaemon
import ArgumentParser
import ControlProtocol
import DaemonConfig
import Foundation
import Logging

#if canImport(Glibc)
  import Glibc
#endif

/// `anomalyd`: the daemon's command line. Everything else lives in AnomalyDaemon.
struct Anomalyd: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "anomalyd",
    abstract: "Find anomalies in live sensor streams received over ZeroMQ.",
    discussion: """
      Subscribes to sensor samples (topic = stream id) on a ZeroMQ SUB socket, learns each \
      stream online with a GRU + attention model, and publishes score events on a PUB socket \
      when a reading exceeds the stream's adaptive threshold.

      With no options it runs on built-in defaults: ingest bound on tcp://127.0.0.1:5556, \
      events on tcp://127.0.0.1:5557, control socket at $RUNTIME_DIRECTORY/control.sock \
      (systemd), else $XDG_RUNTIME_DIR/anomalyd/control.sock, else /tmp/anomalyd-<uid>/control.sock.

      Precedence: built-in defaults < --config file < --set and the other flags.
      Signals: SIGHUP reloads the config file (an invalid file keeps the running config), \
      SIGTERM/SIGINT stop gracefully. See config/anomalyd.toml for every key.
      """)

  @Option(name: .long, help: "TOML configuration file (see config/anomalyd.toml).")
  var config: String?

  @Option(
    name: .customLong("set"),
    help: ArgumentHelp("Override one key, e.g. --set detector.risk=1e-4. Repeatable.", valueName: "section.key=value"))
  var overrides: [String] = []

  @Option(
    name: .long,
    help: ArgumentHelp("Ingest endpoint to bind (replaces ingest.bind). Repeatable.", valueName: "endpoint"))
  var ingestBind: [String] = []

  @Option(
    name: .long,
    help: ArgumentHelp("Event endpoint to bind (replaces publish.bind). Repeatable.", valueName: "endpoint"))
  var publishBind: [String] = []

  @Option(name: .long, help: ArgumentHelp("Path of the Unix control socket.", valueName: "path"))
  var controlSocket: String?

  @Option(name: .long, help: "Worker threads (0 = one per core).")
  var workers: Int?

  @Flag(name: .long, help: "Publish every scored point, not only anomalies.")
  var publishAll = false

  @Flag(name: .long, help: "Validate the configuration, print the effective values, and exit.")
  var checkConfig = false

  func allOverrides() -> [String] {
    var result = overrides
    if !ingestBind.isEmpty { result.append("ingest.bind=[\(ingestBind.map(quote).joined(separator: ","))]") }
    if !publishBind.isEmpty { result.append("publish.bind=[\(publishBind.map(quote).joined(separator: ","))]") }
    if let controlSocket { result.append("control.socket=\(quote(controlSocket))") }
    if let workers { result.append("server.workers=\(workers)") }
    if publishAll { result.append("publish.mode=\"all\"") }
    return result
  }

  func run() throws {
    let overrides = allOverrides()
    let settings: DaemonConfiguration
    do {
      let contents = try config.map { path in
        do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
          throw ConfigError(
            key: "", value: "", reason: "cannot read config file: \(error.localizedDescription)", source: path)
        }
      }
      settings = try ConfigLoader.load(fileContents: contents, fileName: config ?? "", overrides: overrides)
    } catch let error as ConfigError {
      FileHandle.standardError.write(Data("anomalyd: invalid configuration: \(error)\n".utf8))
      throw ExitCode(78)  // EX_CONFIG
    }
    if let problem = Daemon.clusterProblem(settings) {
      FileHandle.standardError.write(Data("anomalyd: invalid configuration: \(problem)\n".utf8))
      throw ExitCode(78)  // EX_CONFIG
    }
    if checkConfig {
      // A summary, never the whole structure: it would print the CURVE secret key.
      print("configuration OK (\(config ?? "built-in defaults"))")
      print("ingest: bind \(settings.ingest.bind) connect \(settings.ingest.connect)")
      print("publish: bind \(settings.publish.bind) connect \(settings.publish.connect), mode \(settings.publish.mode)")
      print(
        "workers: \(settings.server.workers == 0 ? "one per core" : String(settings.server.workers)), shard \(settings.server.shard)"
      )
      print("curve: \(settings.security.curveKeys.map { "on, server key \($0.publicKey)" } ?? "off")")
      let cluster = settings.cluster
      print(
        cluster.isEnabled
          ? "cluster: member \(cluster.member.isEmpty ? "(host name)" : cluster.member), \(cluster.partitions) partitions, "
            + "lease \(cluster.leaseTime) s"
          : "cluster: off (single host)")
      return
    }

    let level = Logger.Level(rawValue: settings.server.logLevel) ?? .info
    LoggingSystem.bootstrap { label in
      var handler = StreamLogHandler.standardError(label: label)
      handler.logLevel = level
      return handler
    }
    let logger = Logger(label: "anomalyd")

    // Signals are taken synchronously by this thread; every thread started after this
    // inherits the mask, so no handler can run on a worker.
    var signals = sigset_t()
    sigemptyset(&signals)
    for signal in [SIGHUP, SIGTERM, SIGINT] { sigaddset(&signals, signal) }
    pthread_sigmask(SIG_BLOCK, &signals, nil)
    Glibc.signal(SIGPIPE, SIG_IGN)

    let environment = ControlPaths.processEnvironment
    let controlPath =
      settings.control.socket.isEmpty ? ControlPaths.defaultSocket(environment: environment) : settings.control.socket
    let daemon = try Daemon(
      configuration: settings, configPath: config, overrides: overrides, logger: logger, environment: environment)
    let endpoints: Daemon.Endpoints
    do {
      endpoints = try daemon.start(controlSocketPath: controlPath)
    } catch {
      FileHandle.standardError.write(Data("anomalyd: cannot start: \(error)\n".utf8))
      throw ExitCode(1)
    }
    logger.notice(
      "anomalyd started",
      metadata: [
        "ingest": "\(endpoints.ingest)", "publish": "\(endpoints.publish)", "control": "\(endpoints.control)",
        "config": "\(config ?? "built-in defaults")",
      ])
    let notifier = daemon.systemd
    notifier.notify("READY=1\nSTATUS=scoring; ingest \(endpoints.ingest), events \(endpoints.publish)")

    let tickSeconds = min(1.0, notifier.watchdogInterval ?? 1.0)
    var timeout = timespec(tv_sec: Int(tickSeconds), tv_nsec: Int((tickSeconds - floor(tickSeconds)) * 1e9))
    while true {
      let received = sigtimedwait(&signals, nil, &timeout)
      if received == SIGHUP {
        _ = daemon.reload()
      } else if received == SIGTERM || received == SIGINT {
        logger.notice("stopping on signal \(received)")
        notifier.notify("STOPPING=1\nSTATUS=stopping")
        daemon.stop()
        logger.notice("stopped")
        return
      }
      daemon.tick()
      // The watchdog vouches for the scoring and data threads too, not only for this loop.
      if daemon.threadsAreAlive() { notifier.notify("WATCHDOG=1") }
    }
  }
}

func quote(_ s: String) -> String { ControlProtocol.quote(s) }

Anomalyd.main()
