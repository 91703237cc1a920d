import AnomalyModel
import ControlProtocol
import DaemonConfig
import Foundation
import Logging
import StateStore
import Wire

/// A worker thread: owns a share of the streams outright and runs their detectors.
///
/// Streams are assigned to workers by a stable hash of their id, so one stream's samples are
/// always scored in order, by one thread, with no lock around its state.
final class Worker {
  let index: Int
  private let queue: BlockingQueue<WorkItem>
  private let output: BlockingQueue<[OutgoingEvent]>
  let counters: Counters
  let settings: SharedSettings
  let logger: Logger
  var streams: [String: StreamState] = [:]
  private let workspace = DetectorWorkspace()
  private var pending: [OutgoingEvent] = []
  /// Streams whose state changed since the last checkpoint, each once (`StreamState.dirtySlot`
  /// guards the append, so marking costs a test per sample, not a hash).
  private var dirty: [StreamState] = []
  /// Where checkpoint changes go; nil when persistence is off.
  let checkpoints: BlockingQueue<[CheckpointChange]>?
  /// Where episode starts and ends go (`publish.alertmanager_url`); nil when that is off.
  let alerts: AlertOutput?
  /// Every stream id of this worker once, in the order the eviction clock visits them, and
  /// the clock's hand (CLOCK, a second-chance approximation of least-recently-used that costs
  /// one flag write per sample).
  var clockOrder: [String] = []
  var clockHand = 0
  /// This worker's read-only connection to the state file when evicted streams keep their
  /// state (`ingest.keep_evicted_state`): a returning id is looked up there.
  let savedStates: CheckpointStore?
  /// The latest evicted rows, for a stream that returns before the checkpoint writer has
  /// written its state; bounded, oldest forgotten first.
  var recentlyEvicted: [String: CheckpointStore.Row] = [:]
  var recentlyEvictedOrder: [String] = []
  var recentlyEvictedNext = 0
  static let recentlyEvictedLimit = 1024

  /// Cluster mode: which partitions this instance holds now (nil on a single host), and the
  /// lease epoch of each this worker has taken over (`Worker+Cluster`).
  let ownership: PartitionOwnership?
  var partitionEpochs: [Int: Int64] = [:]

  /// How many workers share `ingest.max_streams`, and how many streams this one holds.
  let workerCount: Int
  var streamCount = 0

  init(
    index: Int, workerCount: Int, queue: BlockingQueue<WorkItem>, output: BlockingQueue<[OutgoingEvent]>,
    checkpoints: BlockingQueue<[CheckpointChange]>?, savedStates: CheckpointStore? = nil,
    alerts: AlertOutput? = nil, ownership: PartitionOwnership? = nil, counters: Counters, settings: SharedSettings,
    logger: Logger
  ) {
    self.alerts = alerts
    self.ownership = ownership
    self.index = index
    self.workerCount = workerCount
    self.queue = queue
    self.output = output
    self.checkpoints = checkpoints
    self.savedStates = savedStates
    self.counters = counters
    self.settings = settings
    self.logger = logger
  }

  /// Takes over an imported stream (already validated).
  func restore(_ rows: [CheckpointStore.Row], counted: Bool = true) {
    adopt(rows.compactMap { try? Self.streamState(from: $0) }, counted: counted)
  }

  /// Takes over streams decoded from the state file at start (before the worker's thread
  /// runs) or imported.
  func adopt(_ states: [StreamState], counted: Bool = true) {
    for state in states {
      if let replaced = streams[state.id] { unmarkDirty(replaced) }
      streams[state.id] = state
      if counted {
        clockOrder.append(state.id)
        streamCount += 1
        counters.streams.wrappingAdd(1, ordering: .relaxed)
      }
    }
  }

  /// A stream as saved; throws if its state does not decode.
  static func streamState(from row: CheckpointStore.Row) throws -> StreamState {
    let detector = try StreamDetector.decodeState(row.state)
    let state = StreamState(id: row.id, detector: detector)
    state.samples = row.samples
    state.anomalies = row.anomalies
    state.nextSequence = row.nextSequence
    state.lastSeenMs = row.lastSeenMs
    state.lastTimestampMs = row.lastSeenMs
    state.isSaved = true
    return state
  }

  func row(for stream: StreamState) -> CheckpointStore.Row {
    CheckpointStore.Row(
      id: stream.id, state: stream.detector.encodeState(), samples: stream.samples, anomalies: stream.anomalies,
      nextSequence: stream.nextSequence, lastSeenMs: stream.lastSeenMs)
  }

  /// Runs until `shouldStop` is set and the queue is drained.
  /// `beat` is called at every turn of the loop (`Heartbeats`).
  func run(beat: () -> Void = {}, shouldStop: @Sendable () -> Bool) {
    while true {
      beat()
      guard let item = queue.pop(timeout: 0.1) else {
        if shouldStop() { return }
        continue
      }
      switch item {
      case .samples(let batch): process(batch)
      case .query(let query): answer(query)
      case .checkpoint: checkpoint()
      case .adopt(let epochs, let rows):
        let unusable = adopt(epochs: epochs, rows: rows)
        for id in unusable {
          logger.error("saved state of stream \(id) in the cluster store is unusable; the stream starts fresh")
        }
      case .handBack(let partitions, let keepState, let reply):
        reply.push(handBack(partitions, keepState: keepState))
      }
    }
  }

  private func process(_ batch: SampleBatch) {
    // Cluster mode: once the leases lapse by this host's clock, nothing queued is scored.
    if let ownership, !ownership.isValid {
      counters.samplesNotOwned.add(UInt64(batch.count))
      return
    }
    let current = settings.snapshot
    var scored: UInt64 = 0
    // A binary frame brings many samples of one stream in a row: the stream found for the
    // previous sample is reused without hashing its id again. Only a lookup can evict a stream,
    // and it then replaces the remembered one.
    var previous: StreamState?
    batch.values.withUnsafeBufferPointer { allValues in
      for entry in batch.entries {
        let values = UnsafeBufferPointer(rebasing: allValues[entry.offset..<(entry.offset + entry.channels)])
        let found: StreamState?
        if let previous, previous.id == entry.stream {
          found = previous
        } else {
          found = stream(entry.stream, channels: entry.channels, current)
          previous = found
        }
        guard let stream = found else { continue }
        guard stream.detector.channels == entry.channels else {
          counters.reject(.channelMismatch)
          RateLimitedLog.shared.note(
            "channel_mismatch", logger,
            "rejected sample for stream \(entry.stream): it has \(entry.channels) channels, stream has \(stream.detector.channels)"
          )
          continue
        }
        let result = stream.detector.process(values, workspace)
        scored += 1
        markDirty(stream)
        record(result, stream: stream, entry: entry, values: values, current)
      }
    }
    counters.samplesScored.add(scored)
    flushEvents()
  }

  private func stream(_ id: String, channels: Int, _ current: RuntimeSettings) -> StreamState? {
    if let existing = streams[id] {
      existing.referenced = true
      return existing
    }
    guard mayCreate(id) else {
      counters.samplesNotOwned.add(1)
      return nil
    }
    var slot: Int?
    if !reserveStreamSlot(max: current.maxStreams) {
      guard current.evictLeastRecentlyUsed, let freed = evictOne() else {
        counters.reject(.tooManyStreams)
        RateLimitedLog.shared.note(
          "too_many_streams", logger, "stream \(id) refused: ingest.max_streams (\(current.maxStreams)) reached")
        return nil
      }
      slot = freed
    }
    let state =
      resumeEvicted(id)
      ?? StreamState(id: id, detector: StreamDetector(configuration: current.detector, channels: channels))
    streams[id] = state
    if let slot { clockOrder[slot] = id } else { clockOrder.append(id) }
    return state
  }

  private func record(
    _ result: ScoredSample, stream: StreamState, entry: SampleBatch.Entry,
    values: UnsafeBufferPointer<Double>, _ current: RuntimeSettings
  ) {
    // Wrapping: these counters can come from a state file row or an imported record, which no
    // checksum covers; a value near 2^64 must not make the increment trap.
    stream.samples &+= 1
    stream.lastSeenMs = entry.timestampMs
    if entry.timestampMs < stream.lastTimestampMs { counters.timestampsBackwards.add(1) }
    stream.lastTimestampMs = entry.timestampMs
    if stream.firstTimestampMs == nil { stream.firstTimestampMs = entry.timestampMs }
    stream.timedReadings &+= 1
    stream.lastScore = result.score
    stream.lastError = result.error
    stream.lastReason = result.reason
    stream.remember(score: result.score)
    remember(result, stream: stream, timestampMs: entry.timestampMs, values: values, capacity: current.streamHistory)
    var moments: [ScoreEvent.Moment] = []
    var errorChannels: [Int] = []
    if result.anomaly {
      stream.anomalies &+= 1
      stream.lastAnomalyMs = entry.timestampMs
      counters.anomalies.add(1)
      moments = workspace.attentionMoments(count: 3).map {
        ScoreEvent.Moment(
          timestampMs: stream.history?.timestamp(readingsBack: $0.readingsBack), readingsBack: $0.readingsBack,
          weight: $0.weight)
      }
      errorChannels = Self.errorChannels(workspace.channelError, scale: stream.detector.normaliser.scale)
      (stream.lastMoments, stream.lastErrorChannels) = (moments, errorChannels)
      if let pattern = stream.detector.eventPattern() {
        stream.recentEvents.append((stream.nextSequence, entry.timestampMs, pattern))
        if stream.recentEvents.count > StreamState.recentEventCount { stream.recentEvents.removeFirst() }
      }
    }
    if !result.anomaly, !stream.detector.isAnomalousNow { closeAlert(stream) }
    guard result.anomaly || current.publishMode == .all else { return }
    var event = ScoreEvent(
      stream: stream.id, timestampMs: entry.timestampMs, values: Array(values),
      expected: workspace.expected, channelError: workspace.channelError, error: result.error,
      errorThreshold: result.errorThreshold, score: result.score, threshold: result.threshold,
      anomaly: result.anomaly, reason: result.reason.rawValue, sequence: stream.nextSequence)
    (event.moments, event.errorChannels) = (moments, errorChannels)
    if result.anomaly, let alerts {
      // A start dropped on a full queue leaves an alert still firing from before open, so
      // that its end is still sent.
      stream.alertOpen = alerts.trySend(.fire(event)) || stream.alertOpen
    }
    stream.nextSequence &+= 1
    pending.append(OutgoingEvent(topic: Array(stream.id.utf8), body: event.encodeBody(), sequence: event.sequenceFrame))
  }

  /// An operator's verdict on an event; returns what was done, for the reply.
  private func apply(_ verdict: FeedbackVerdict, to stream: StreamState) -> Result<String, DaemonError> {
    switch verdict {
    case .clear:
      let count = stream.detector.accepted.patterns.count
      stream.detector.clearAccepted()
      markDirty(stream)
      return .success("\(stream.id): forgot \(count) situations marked normal")
    case .falseAlarm(let which):
      let chosen: (sequence: UInt64, timestampMs: Int64, pattern: [Float])?
      switch which {
      case .last: chosen = stream.recentEvents.last
      case .sequence(let n): chosen = stream.recentEvents.last { $0.sequence == n }
      case .atOrBefore(let ms): chosen = stream.recentEvents.last { $0.timestampMs <= ms }
      }
      guard let event = chosen else {
        let kept = stream.recentEvents.map { String($0.sequence) }.joined(separator: ", ")
        return .failure(
          DaemonError(
            stream.detector.configuration.historyLength == 0
              ? "\(stream.id): feedback needs the history attention (detector.history_length > 0)"
              : "\(stream.id): no such recent event (kept: \(kept.isEmpty ? "none" : kept))"))
      }
      guard stream.detector.acceptAsNormal(event.pattern) else {
        return .failure(DaemonError("\(stream.id): the event's situation does not fit the stream's model"))
      }
      markDirty(stream)
      logger.notice(
        "feedback: false alarm", metadata: ["stream.id": "\(stream.id)", "event.sequence": "\(event.sequence)"])
      return .success(
        "\(stream.id): event \(event.sequence) marked a false alarm; its situation no longer alarms "
          + "(\(stream.detector.accepted.patterns.count) marked, at most \(AcceptedPatterns.capacity))")
    }
  }

  /// Keeps the reading in the stream's history (`server.stream_history`).
  private func remember(
    _ result: ScoredSample, stream: StreamState, timestampMs: Int64, values: UnsafeBufferPointer<Double>,
    capacity: Int
  ) {
    if stream.history == nil {
      guard capacity > 0 else { return }
      stream.history = StreamHistory(capacity: capacity, channels: stream.detector.channels)
    }
    let detector = stream.detector
    // The error is a root mean square over channels: one channel alone reaches the threshold
    // at √C times it.
    let reach = result.errorThreshold * Double(detector.channels).squareRoot()
    var flags: UInt8 = 0
    if result.anomaly { flags |= StreamHistory.anomalyFlag }
    if detector.isAnomalousNow { flags |= StreamHistory.episodeFlag }
    if result.warmingUp { flags |= StreamHistory.warmupFlag }
    stream.history?.append(
      timestampMs: timestampMs, values: values, expected: workspace.expected,
      bands: { reach.isFinite ? reach * detector.normaliser.scale($0) : .nan }, score: result.score, flags: flags)
  }

  /// The channels that carry most of the error: by their share of the squared error in units
  /// of each channel's scale, largest first, until 80 % of it (at most 3).
  static func errorChannels(_ channelError: [Double], scale: (Int) -> Double) -> [Int] {
    let squared = channelError.indices.map { c -> Double in
      let d = channelError[c] / max(scale(c), 1e-12)
      return d * d
    }
    let total = squared.reduce(0, +)
    guard total > 0, total.isFinite else { return [] }
    var chosen: [Int] = []
    var covered = 0.0
    for c in squared.indices.sorted(by: { squared[$0] > squared[$1] }) {
      chosen.append(c)
      covered += squared[c]
      if covered >= 0.8 * total || chosen.count == 3 { break }
    }
    return chosen
  }

  /// Resolves the stream's alert, if one is firing.
  func closeAlert(_ stream: StreamState) {
    guard stream.alertOpen, let alerts else { return }
    stream.alertOpen = false
    alerts.resolve(stream.id)
  }

  private func flushEvents() {
    guard !pending.isEmpty else { return }
    let count = pending.count
    if !output.tryPush(pending, weight: count) {
      counters.eventsDropped.add(UInt64(count))
    }
    pending = []
  }

  private func checkpoint() {
    guard let checkpoints, !dirty.isEmpty else { return }
    var rows: [CheckpointChange] = []
    rows.reserveCapacity(dirty.count)
    for stream in dirty {
      stream.dirtySlot = -1
      stream.isSaved = true
      rows.append(.save(row(for: stream), fence: fence(for: stream.id)))
    }
    dirty.removeAll(keepingCapacity: true)
    checkpoints.push(rows)
  }

  private func markDirty(_ stream: StreamState) {
    guard checkpoints != nil, !stream.isDirty else { return }
    stream.dirtySlot = dirty.count
    dirty.append(stream)
  }

  /// Takes a stream that is leaving (evicted or replaced) off the dirty list.
  func unmarkDirty(_ stream: StreamState) {
    let slot = stream.dirtySlot
    guard slot >= 0 else { return }
    let last = dirty.removeLast()
    if last !== stream {
      dirty[slot] = last
      last.dirtySlot = slot
    }
    stream.dirtySlot = -1
  }

  private func answer(_ query: WorkerQuery) {
    switch query.request {
    case .summaries(let only):
      if let only {
        query.reply(.summaries(streams[only].map { [$0.summary()] } ?? []))
      } else {
        query.reply(.summaries(streams.values.map { $0.summary() }))
      }
    case .history(let id):
      query.reply(.history(streams[id].map { .init(channels: $0.detector.channels, rows: $0.history?.rows() ?? []) }))
    case .feedback(let id, let verdict):
      guard let stream = streams[id] else {
        query.reply(.feedback(nil))
        return
      }
      query.reply(.feedback(apply(verdict, to: stream)))
    case .gauges(let limit):
      let ids = StreamGauges.firstIDs(streams.keys, limit: limit)
      query.reply(.gauges(ids.compactMap { streams[$0].map(StreamGauges.init) }, total: streams.count))
    case .export(let id):
      query.reply(.exported(streams[id].map { row(for: $0) }))
    case .install(let row):
      guard streams[row.id] != nil || mayCreate(row.id) else {
        query.reply(.refused("cluster mode: its partition is held by another member"))
        return
      }
      guard makeRoom(for: row.id) else {
        query.reply(.refused("ingest.max_streams reached"))
        return
      }
      restore([row], counted: false)
      if let installed = streams[row.id] { markDirty(installed) }
      logger.notice("stream state imported", metadata: ["stream.id": "\(row.id)"])
      query.reply(.installed)
    case .reset(let id):
      guard let stream = streams[id] else {
        query.reply(.reset(found: false))
        return
      }
      stream.detector.reset()
      closeAlert(stream)
      markDirty(stream)
      logger.notice("stream reset", metadata: ["stream.id": "\(id)"])
      query.reply(.reset(found: true))
    }
  }
}
