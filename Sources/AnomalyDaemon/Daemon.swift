import AnomalyModel
import ClusterStore
import ControlProtocol
import DaemonConfig
import Foundation
import Logging
import StateStore
import Synchronization
import Wire
import ZeroMQ

/// The running daemon: composes the ingest thread, the workers, the publisher and the control
/// server, and implements reload and graceful stop.
///
///     SUB ─► ingest ─┬─► worker 0 ─┐
///                    └─► worker N ─┴─► publisher ─► PUB
///     control socket ─► (queries to workers, counters)
public final class Daemon: Sendable {
  public struct Endpoints: Sendable {
    public var ingest: String
    public var publish: String
    public var control: String
    /// The scrape endpoint's address, when `server.metrics_listen` is set.
    public var metrics: String?
  }

  let startTime = Date()
  let counters = Counters()
  let settings: SharedSettings
  let configuration: Mutex<DaemonConfiguration>
  let configPath: String?
  let overrides: [String]
  let logger: Logger
  let workerCount: Int
  let workerQueues: [BlockingQueue<WorkItem>]
  let publishQueue: BlockingQueue<[OutgoingEvent]>
  let context: Context
  let notifier: SystemdNotifier
  /// The systemd notification channel (a no-op outside systemd).
  public var systemd: SystemdNotifier { notifier }
  let rates = RateTracker()
  let persistence = PersistenceCounters()
  let security = SecurityCounters()
  let controlCounters = ControlCounters()
  let alertCounters = AlertCounters()
  /// Episode starts and ends for the Alertmanager sink; nil when `publish.alertmanager_url`
  /// is empty.
  private let alertQueue: BlockingQueue<AlertChange>?
  private let alertStop = StopFlag()
  let heartbeats: Heartbeats
  let environment: [String: String]
  /// The checkpoint file in use, or nil when persistence is off.
  let stateFile = Mutex<String?>(nil)
  /// Held from the state store's opening to the process's end (`StateLock`).
  private let stateLock = Mutex<StateLock?>(nil)
  /// Whether evicted streams' states go to the state file in this run (`keep_evicted_state`
  /// with persistence on; set at start, a reload cannot change it).
  let keepsEvictedState = Atomic<Bool>(false)
  /// Periodic checkpoints are pushed regardless of this capacity; it bounds the states of
  /// evicted streams in flight to the state file (`keep_evicted_state`), about 9 KB each.
  private let checkpointQueue = BlockingQueue<[CheckpointChange]>(capacity: 16_384)
  private let checkpointerStop = StopFlag()
  private let lastCheckpointRequest = Mutex(ProcessInfo.processInfo.systemUptime)

  /// Cluster mode (`cluster.postgres_url`): the partitions held now, and what the
  /// coordinator saw; nil on a single host.
  let ownership: PartitionOwnership?
  let cluster: ClusterStatus?
  let clusterStop = StopFlag()

  private let ingestStop = StopFlag()
  private let workerStop = StopFlag()
  private let publisherStop = StopFlag()
  private let controlStop = StopFlag()
  private let zapStop = StopFlag()
  private let threads = Mutex<[String: ThreadHandle]>([:])
  private let endpoints = Mutex<Endpoints?>(nil)
  private let metricsServer = Mutex<MetricsHTTPServer?>(nil)

  public init(
    configuration: DaemonConfiguration, configPath: String?, overrides: [String], logger: Logger,
    environment: [String: String]
  ) throws {
    self.configuration = Mutex(configuration)
    self.configPath = configPath
    self.overrides = overrides
    self.logger = logger
    settings = SharedSettings(RuntimeSettings(configuration))
    workerCount =
      configuration.server.workers > 0 ? configuration.server.workers : ProcessInfo.processInfo.activeProcessorCount
    workerQueues = (0..<workerCount).map { _ in BlockingQueue(capacity: configuration.ingest.queueCapacity) }
    publishQueue = BlockingQueue(capacity: configuration.publish.queueCapacity)
    alertQueue =
      configuration.publish.alertmanagerURL.isEmpty
      ? nil : BlockingQueue(capacity: configuration.publish.alertmanagerQueue)
    context = try Context()
    notifier = SystemdNotifier(environment: environment)
    heartbeats = Heartbeats(watchdogPeriod: notifier.watchdogInterval.map { $0 * 2 })
    self.environment = environment
    let clustered = configuration.cluster
    if clustered.isEnabled {
      ownership = PartitionOwnership(partitions: clustered.partitions)
      cluster = ClusterStatus(
        member: clustered.member.isEmpty ? ProcessInfo.processInfo.hostName : clustered.member,
        partitionCount: clustered.partitions, leaseSeconds: clustered.leaseTime)
    } else {
      (ownership, cluster) = (nil, nil)
    }
  }

  public var boundEndpoints: Endpoints? { endpoints.withLock { $0 } }

  /// Binds every socket and starts every thread. Throws (having started nothing that keeps
  /// running) if an endpoint or the control socket cannot be used.
  public func start(controlSocketPath: String) throws -> Endpoints {
    let config = configuration.withLock { $0 }
    let (store, restored) = try openState(config)
    let sharedStore = try openCluster(config)
    for index in 0..<workerCount {
      var savedStates: CheckpointStore?
      if let store, config.ingest.keepEvictedState {
        do {
          savedStates = try CheckpointStore(path: store.path, readOnly: true)
        } catch {
          logger.error(
            "keep_evicted_state: cannot open \(store.path) for lookups, evicted streams will start fresh: \(error)")
        }
      }
      if savedStates != nil { keepsEvictedState.store(true, ordering: .relaxed) }
      let worker = Worker(
        index: index, workerCount: workerCount, queue: workerQueues[index], output: publishQueue,
        checkpoints: store == nil && sharedStore == nil ? nil : checkpointQueue, savedStates: savedStates,
        alerts: alertQueue.map { AlertOutput(queue: $0, counters: alertCounters) }, ownership: ownership,
        counters: counters, settings: settings, logger: logger)
      worker.adopt(restored[index])
      let stop = workerStop
      nonisolated(unsafe) let owned = worker
      let heartbeat = heartbeats.register("worker-\(index)")
      let beat =
        index == 0 && environment["ANOMALYD_TEST_STALL_WORKER"] == "1" ? stallingBeat(heartbeat) : heartbeat.beat
      addThread("worker-\(index)", ThreadHandle(name: "worker-\(index)") { owned.run(beat: beat) { stop.isSet } })
    }

    if let backend: any CheckpointBackend = store ?? sharedStore {
      nonisolated(unsafe) let checkpointer = Checkpointer(
        store: backend, queue: checkpointQueue, counters: persistence, logger: logger)
      let stop = checkpointerStop
      addThread("checkpointer", ThreadHandle(name: "checkpoint") { checkpointer.run { stop.isSet } })
    }

    if let alertQueue, let endpoint = DaemonConfiguration.HTTPEndpoint(config.publish.alertmanagerURL) {
      nonisolated(unsafe) let sink = AlertmanagerSink(
        endpoint: endpoint, queue: alertQueue, counters: alertCounters,
        resendInterval: config.publish.alertmanagerResendInterval, logger: logger)
      let stop = alertStop
      let heartbeat = heartbeats.register("alertmanager")
      addThread("alertmanager", ThreadHandle(name: "alertmanager") { sink.run(beat: heartbeat.beat) { stop.isSet } })
      logger.info("sending episodes to the Alertmanager", metadata: ["url": "\(endpoint)"])
    }

    let curve = config.security.curveKeys
    if curve != nil {
      guard Curve.isAvailable else {
        stopAll()
        throw DaemonError("security.curve_key_file is set, but this libzmq was built without CURVE (libsodium)")
      }
      let zapStarted = StartupSignal()
      let (context, allowed, security, logger, stop) = (
        context, config.security.curveAllowedClients, security, logger, zapStop
      )
      addThread(
        "zap",
        ThreadHandle(name: "zap") {
          let handler: ZapHandler
          do {
            handler = try ZapHandler(context: context, allowed: allowed, counters: security, logger: logger)
          } catch {
            zapStarted.report(error: "ZAP handler: \(error)")
            return
          }
          zapStarted.report(error: nil)
          handler.run { stop.isSet }
        })
      if let error = zapStarted.wait() {
        stopAll()
        throw DaemonError(error)
      }
    }

    let publishEndpoint = Mutex("")
    let publishStarted = StartupSignal()
    let (context, queue, counters, logger, stop) = (context, publishQueue, counters, logger, publisherStop)
    let publishHeartbeat = heartbeats.register("publish")
    addThread(
      "publisher",
      ThreadHandle(name: "publish") {
        let publisher: Publisher
        do {
          publisher = try Publisher(
            context: context, config: config.publish, curve: curve, queue: queue, counters: counters, logger: logger)
        } catch {
          publishStarted.report(error: "publish socket: \(error)")
          return
        }
        publishEndpoint.withLock { $0 = publisher.boundEndpoint }
        publishStarted.report(error: nil)
        publisher.run(beat: publishHeartbeat.beat) { stop.isSet }
      })
    if let error = publishStarted.wait() {
      stopAll()
      throw DaemonError(error)
    }

    let ingestEndpoint = Mutex("")
    let ingestStarted = StartupSignal()
    let (workers, settings, ingestStop, ownership) = (workerQueues, settings, ingestStop, ownership)
    let ingestHeartbeat = heartbeats.register("ingest")
    addThread(
      "ingest",
      ThreadHandle(name: "ingest") {
        let ingest: IngestLoop
        do {
          ingest = try IngestLoop(
            context: context, config: config.ingest, workers: workers, shard: config.server.shard,
            ownership: ownership, curve: curve, counters: counters, settings: settings, logger: logger)
        } catch {
          ingestStarted.report(error: "ingest socket: \(error)")
          return
        }
        ingestEndpoint.withLock { $0 = ingest.boundEndpoint }
        ingestStarted.report(error: nil)
        ingest.run {
          ingestHeartbeat.beat()
          return ingestStop.isSet
        }
      })
    if let error = ingestStarted.wait() {
      stopAll()
      throw DaemonError(error)
    }

    let control: ControlServer
    do {
      let group = try Self.groupID(config.control.group)
      control = try ControlServer(
        path: controlSocketPath, mode: config.control.mode, group: group,
        maxConnections: config.control.maxConnections, counters: controlCounters, logger: logger
      ) {
        [weak self] request in
        self?.handle(request) ?? .failure("daemon is stopping")
      }
    } catch {
      stopAll()
      throw DaemonError("control socket: \(error)")
    }
    let controlStop = controlStop
    nonisolated(unsafe) let ownedControl = control
    let controlHeartbeat = heartbeats.register("control")
    addThread(
      "control",
      ThreadHandle(name: "control") {
        ownedControl.run {
          controlHeartbeat.beat()
          return controlStop.isSet
        }
      })

    if !config.server.metricsListen.isEmpty,
      let address = DaemonConfiguration.ListenAddress(config.server.metricsListen)
    {
      do {
        let server = try MetricsHTTPServer(host: address.host, port: address.port, logger: logger) { [weak self] in
          self?.metricsText() ?? ""
        }
        metricsServer.withLock { $0 = server }
      } catch {
        stopAll()
        throw DaemonError("server.metrics_listen \(config.server.metricsListen): \(error)")
      }
    }

    if let sharedStore { startCoordinator(url: sharedStore.url, controlSocketPath: controlSocketPath) }

    let bound = Endpoints(
      ingest: ingestEndpoint.withLock { $0 }, publish: publishEndpoint.withLock { $0 }, control: controlSocketPath,
      metrics: metricsServer.withLock { $0?.boundAddress })
    endpoints.withLock { $0 = bound }
    return bound
  }

  func addThread(_ name: String, _ handle: ThreadHandle) {
    threads.withLock { $0[name] = handle }
  }

  private func join(_ name: String) {
    let handle = threads.withLock { $0.removeValue(forKey: name) }
    handle?.join()
  }

  /// `control.group` as a group id: a number, or a name from the group database.
  static func groupID(_ group: String) throws(DaemonError) -> gid_t? {
    if group.isEmpty { return nil }
    if let number = gid_t(group) { return number }
    guard let entry = getgrnam(group) else { throw DaemonError("control.group: no group named '\(group)'") }
    return entry.pointee.gr_gid
  }

  /// Stops in data-flow order so nothing accepted is lost: ingest flushes its batches,
  /// workers drain their queues, the publisher sends what they produced.
  public func stop() {
    stopAll()
  }

  private func stopAll() {
    // First: a scrape asks the workers, which are about to stop.
    metricsServer.withLock { $0.take() }?.shutdown()
    ingestStop.set()
    join("ingest")
    // Cluster mode: the partitions go to the other members with their streams' state.
    clusterStop.set()
    join("cluster")
    // A final checkpoint: queued behind every accepted sample, so it includes them all.
    if stateFile.withLock({ $0 }) != nil { requestCheckpoint() }
    workerStop.set()
    for index in 0..<workerCount { join("worker-\(index)") }
    checkpointerStop.set()
    join("checkpointer")
    // After the workers: the episodes they closed last are resolved.
    alertStop.set()
    join("alertmanager")
    publisherStop.set()
    join("publisher")
    controlStop.set()
    join("control")
    zapStop.set()
    join("zap")
  }

  /// Called about once a second by the main thread: rates, checkpoints, the metrics textfile.
  /// Whether every thread the watchdog vouches for still turns (`Heartbeats`); logs the ones
  /// that do not. The main loop sends WATCHDOG=1 only while this holds.
  public func threadsAreAlive() -> Bool {
    let stalled = heartbeats.stalled()
    for (name, age) in stalled {
      RateLimitedLog.shared.note(
        "stalled_\(name)", logger,
        "thread \(name) has been stuck for \(Int(age)) s; withholding the systemd watchdog so the daemon is restarted")
    }
    return stalled.isEmpty
  }

  /// Fault injection for the watchdog's test (`ANOMALYD_TEST_STALL_WORKER=1`): the first
  /// worker beats normally until it has scored a sample, then stops turning for good, as a
  /// deadlocked worker would.
  private func stallingBeat(_ heartbeat: Heartbeats.Heartbeat) -> @Sendable () -> Void {
    let counters = counters
    return {
      heartbeat.beat()
      guard counters.samplesScored.value > 0 else { return }
      while true { sleep(3600) }
    }
  }

  public func tick() {
    rates.update(scored: counters.samplesScored.value, received: counters.messagesReceived.value)
    let config = configuration.withLock { $0.server }
    let now = ProcessInfo.processInfo.systemUptime
    let due = lastCheckpointRequest.withLock { last in
      guard now - last >= config.checkpointInterval else { return false }
      last = now
      return true
    }
    if due && stateFile.withLock({ $0 }) != nil { requestCheckpoint() }
    if !config.metricsTextfile.isEmpty, rates.shouldWriteMetrics(every: config.metricsInterval) {
      writeMetricsFile(config.metricsTextfile)
    }
  }

  private func writeMetricsFile(_ path: String) {
    let temporary = path + ".tmp"
    do {
      try Data(metricsText().utf8).write(to: URL(fileURLWithPath: temporary))
      guard rename(temporary, path) == 0 else { throw SystemError("rename \(temporary)") }
    } catch {
      RateLimitedLog.shared.note("metrics_textfile", logger, "cannot write metrics to \(path): \(error)")
    }
  }

  /// Asks every worker to hand over the streams that changed since the last checkpoint.
  func requestCheckpoint() {
    for queue in workerQueues { queue.push(.checkpoint) }
  }

  /// Opens the state store and reads back the most recently seen saved streams, decoded and
  /// split by owning worker (each worker's share of `max_streams`).
  /// Unusable saved states are moved to the store's quarantine table; an unusable state
  /// directory turns persistence off with an error in the log and in `info persistence`. A
  /// directory another process has locked (`StateLock`) throws: the daemon must not start.
  private func openState(_ config: DaemonConfiguration) throws -> (CheckpointStore?, [[StreamState]]) {
    var restored = Array(repeating: [StreamState](), count: workerCount)
    guard !config.cluster.isEnabled,
      let directory = StateFiles.directory(configured: config.server.stateDirectory, environment: environment)
    else { return (nil, restored) }
    let store: CheckpointStore
    let rows: [CheckpointStore.Row]
    do {
      let lock: StateLock
      (store, lock) = try StateFiles.open(directory: directory, logger: logger)
      stateLock.withLock { $0 = lock }
      // The most recently seen first: with more saved than max_streams (kept evicted states,
      // or a lower limit than before) the rest stay in the file.
      rows = try store.loadAll(limit: config.ingest.maxStreams)
    } catch let failure as StateLock.Failure {
      if case .held = failure { throw DaemonError("\(failure)") }
      persistence.failures.add(1)
      persistence.lastError.withLock { $0 = "\(failure)" }
      logger.error("persistence is OFF: cannot use state directory \(directory): \(failure)")
      return (nil, restored)
    } catch {
      persistence.failures.add(1)
      persistence.lastError.withLock { $0 = "\(error)" }
      logger.error("persistence is OFF: cannot use state directory \(directory): \(error)")
      return (nil, restored)
    }
    let now = Int64(Date().timeIntervalSince1970 * 1000)
    for row in rows {
      let worker = Int(StableHash.fnv1a(row.id) % UInt64(workerCount))
      // Most recently seen first: each worker takes what fits its share of max_streams.
      let share = Worker.share(of: config.ingest.maxStreams, workers: workerCount, index: worker)
      guard restored[worker].count < share else { continue }
      do {
        // Decoded once, here: the worker adopts the result.
        restored[worker].append(try Worker.streamState(from: row))
        persistence.restored.add(1)
      } catch {
        persistence.restoreFailures.add(1)
        logger.error(
          "saved state of stream \(row.id) is unusable (\(error)); moved to quarantine, the stream starts fresh")
        try? store.quarantine(id: row.id, reason: "\(error)", nowMs: now)
      }
    }
    stateFile.withLock { $0 = store.path }
    logger.notice("state restored", metadata: ["file": "\(store.path)", "streams": "\(persistence.restored.value)"])
    return (store, restored)
  }

  /// Re-reads the config file. Keeps the old configuration (and says why) if the new one is
  /// invalid. Settings that need new sockets or threads are reported, not applied.
  public func reload() -> Result<String, DaemonError> {
    notifier.reloading()
    defer { notifier.notify("READY=1") }
    let fresh: DaemonConfiguration
    do {
      let contents = try configPath.map { try String(contentsOfFile: $0, encoding: .utf8) }
      fresh = try ConfigLoader.load(fileContents: contents, fileName: configPath ?? "", overrides: overrides)
    } catch {
      counters.reloadFailures.add(1)
      let message = "reload failed, keeping the running configuration: \(error)"
      logger.error("\(message)")
      return .failure(DaemonError(message))
    }
    let old = configuration.withLock { $0 }
    var restartNeeded: [String] = []
    if fresh.ingest.bind != old.ingest.bind || fresh.ingest.connect != old.ingest.connect
      || fresh.ingest.subscribe != old.ingest.subscribe
    {
      restartNeeded.append("ingest endpoints")
    }
    if fresh.publish.bind != old.publish.bind || fresh.publish.connect != old.publish.connect {
      restartNeeded.append("publish endpoints")
    }
    if fresh.publish.alertmanagerURL != old.publish.alertmanagerURL
      || fresh.publish.alertmanagerResendInterval != old.publish.alertmanagerResendInterval
      || fresh.publish.alertmanagerQueue != old.publish.alertmanagerQueue
    {
      restartNeeded.append("publish.alertmanager_*")
    }
    if fresh.control != old.control { restartNeeded.append("control socket") }
    if fresh.security != old.security { restartNeeded.append("security") }
    if fresh.cluster != old.cluster { restartNeeded.append("cluster") }
    if fresh.server.workers != old.server.workers { restartNeeded.append("server.workers") }
    if fresh.server.shard != old.server.shard { restartNeeded.append("server.shard") }
    if fresh.server.metricsListen != old.server.metricsListen { restartNeeded.append("server.metrics_listen") }
    if fresh.ingest.keepEvictedState != old.ingest.keepEvictedState {
      restartNeeded.append("ingest.keep_evicted_state")
    }
    if fresh.server.logLevel != old.server.logLevel { restartNeeded.append("server.log_level") }
    if fresh.ingest.queueCapacity != old.ingest.queueCapacity
      || fresh.publish.queueCapacity != old.publish.queueCapacity
      || fresh.ingest.receiveHighWaterMark != old.ingest.receiveHighWaterMark
      || fresh.ingest.maxMessageBytes != old.ingest.maxMessageBytes
      || fresh.publish.sendHighWaterMark != old.publish.sendHighWaterMark
    {
      restartNeeded.append("queue and socket limits")
    }
    configuration.withLock { $0 = fresh }
    settings.replace(RuntimeSettings(fresh))
    counters.reloads.add(1)
    var message = "configuration reloaded"
    if fresh.detector != old.detector { message += "; detector settings apply to new and reset streams" }
    if !restartNeeded.isEmpty { message += "; needs a restart to change: " + restartNeeded.joined(separator: ", ") }
    logger.notice("\(message)")
    return .success(message)
  }

  /// Asks one worker.
  func askWorker(_ index: Int, _ request: WorkerQuery.Request) throws(DaemonError) -> WorkerQuery.Answer {
    let query = WorkerQuery(request)
    workerQueues[index].push(.query(query))
    guard let answer = query.wait(seconds: 2) else {
      throw DaemonError("worker \(index) did not answer within 2 s (overloaded?)")
    }
    return answer
  }

  /// Asks every worker and gathers the answers.
  func askWorkers(_ request: WorkerQuery.Request) throws(DaemonError) -> [WorkerQuery.Answer] {
    let queries = workerQueues.map { queue in
      let query = WorkerQuery(request)
      queue.push(.query(query))
      return query
    }
    var answers: [WorkerQuery.Answer] = []
    for (index, query) in queries.enumerated() {
      guard let answer = query.wait(seconds: 2) else {
        throw DaemonError("worker \(index) did not answer within 2 s (overloaded?)")
      }
      answers.append(answer)
    }
    return answers
  }
}

public struct DaemonError: Error, CustomStringConvertible, Sendable {
  public let description: String
  init(_ description: String) { self.description = description }
}

/// Recent throughput, updated by `Daemon.tick`.
final class RateTracker: Sendable {
  private struct State {
    var lastTime = ProcessInfo.processInfo.systemUptime
    var lastScored: UInt64 = 0
    var lastReceived: UInt64 = 0
    var scoredPerSecond = 0.0
    var receivedPerSecond = 0.0
    var lastMetricsWrite = -Double.infinity
  }

  private let state = Mutex(State())

  func update(scored: UInt64, received: UInt64) {
    let now = ProcessInfo.processInfo.systemUptime
    state.withLock { s in
      let elapsed = now - s.lastTime
      guard elapsed >= 0.5 else { return }
      s.scoredPerSecond = Double(scored &- s.lastScored) / elapsed
      s.receivedPerSecond = Double(received &- s.lastReceived) / elapsed
      s.lastScored = scored
      s.lastReceived = received
      s.lastTime = now
    }
  }

  var perSecond: (scored: Double, received: Double) {
    state.withLock { ($0.scoredPerSecond, $0.receivedPerSecond) }
  }

  func shouldWriteMetrics(every interval: Double) -> Bool {
    let now = ProcessInfo.processInfo.systemUptime
    return state.withLock { s in
      guard now - s.lastMetricsWrite >= interval else { return false }
      s.lastMetricsWrite = now
      return true
    }
  }
}
