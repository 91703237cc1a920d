import DaemonConfig
import Foundation
import Logging
import StateStore
import Wire
import ZeroMQ

/// The ingest thread: owns the SUB socket, decodes every message and routes its samples to
/// the worker that owns the stream.
///
/// Nothing here stops for bad input: every message is either routed or counted as rejected
/// with a reason. Batches go to workers with `tryPush`; a full worker queue drops the batch
/// and counts it, so ingest never blocks and libzmq never has to drop silently behind it.
final class IngestLoop {
  private let socket: Socket
  private let workers: [BlockingQueue<WorkItem>]
  private let counters: Counters
  private let settings: SharedSettings
  private let logger: Logger
  private var batches: [SampleBatch]
  private var decoded = DecodedSamples()
  private let topicFrame = Frame()
  private let payloadFrame = Frame()
  private let extraFrame = Frame()
  /// Flush a worker's batch once it holds this many samples.
  private let batchLimit = 512
  /// Read once per drained burst, not per message: the topic limit (reloadable) and the
  /// receive time stamped on samples that carry no timestamp.
  private var maxTopicBytes = 0
  private let shard: DaemonConfiguration.Shard
  private var burstTimeMs: Int64 = 0
  /// Cluster mode: the partitions this instance holds, copied when the coordinator changes
  /// them, and the monotonic time of the burst they are checked against.
  private let ownership: PartitionOwnership?
  private var owned: PartitionOwnership.Snapshot?
  private var ownedVersion: UInt64 = 0
  private var burstUptime = 0.0

  /// Creates the SUB socket and binds/connects it; throws if an endpoint cannot be used.
  init(
    context: Context, config: DaemonConfiguration.Ingest, workers: [BlockingQueue<WorkItem>],
    shard: DaemonConfiguration.Shard, ownership: PartitionOwnership? = nil, curve: CurveKeyPair?, counters: Counters,
    settings: SharedSettings, logger: Logger
  ) throws(ZMQError) {
    self.shard = shard
    self.ownership = ownership
    socket = try Socket(context, .sub)
    if let secret = curve?.secretKey { try socket.makeCurveServer(secretKey: secret, domain: "anomalyd") }
    try socket.receiveHighWaterMark(Int32(clamping: config.receiveHighWaterMark))
    try socket.maxMessageSize(Int64(config.maxMessageBytes))
    for prefix in config.subscribe { try socket.subscribe(Array(prefix.utf8)) }
    for endpoint in config.bind { try socket.bind(endpoint) }
    for endpoint in config.connect { try socket.connect(endpoint) }
    self.workers = workers
    self.counters = counters
    self.settings = settings
    self.logger = logger
    batches = Array(repeating: SampleBatch(), count: workers.count)
  }

  /// The endpoints actually bound (with ports resolved), for logs and tests.
  var boundEndpoint: String { (try? socket.lastEndpoint()) ?? "" }

  func run(shouldStop: @Sendable () -> Bool) {
    var pollSet = PollSet()
    pollSet.add(socket)
    while !shouldStop() {
      do {
        guard try pollSet.poll(timeoutMilliseconds: 100) > 0 else { continue }
        maxTopicBytes = settings.snapshot.maxTopicBytes
        burstTimeMs = Int64(Date().timeIntervalSince1970 * 1000)
        if let ownership {
          if let fresh = ownership.snapshot(newerThan: &ownedVersion) { owned = fresh }
          burstUptime = ProcessInfo.processInfo.systemUptime
        }
        // Drain what is waiting, flushing batches as they fill, then flush the rest.
        var drained = 0
        while drained < 65_536, try receiveOne() { drained += 1 }
        flushAll()
      } catch {
        if error.isTerminated { break }
        logger.error("ingest: \(error)")
      }
    }
    flushAll()
    socket.close()
  }

  /// Receives and handles one multipart message; false when none is waiting.
  private func receiveOne() throws(ZMQError) -> Bool {
    guard try socket.receive(into: topicFrame, wait: false) else { return false }
    counters.messagesReceived.add(1)
    guard topicFrame.hasMore else {
      counters.reject(.missingPayload)
      RateLimitedLog.shared.note("missing_payload", logger, "rejected single-frame message: expected topic | payload")
      return true
    }
    _ = try socket.receive(into: payloadFrame, wait: true)
    if payloadFrame.hasMore {
      // Drain the rest of this message so the next receive starts at a message boundary.
      repeat { _ = try socket.receive(into: extraFrame, wait: true) } while extraFrame.hasMore
      counters.reject(.extraFrames)
      RateLimitedLog.shared.note("extra_frames", logger, "rejected message with more than two frames")
      return true
    }
    handle(topic: topicFrame.bytes, payload: payloadFrame.bytes)
    return true
  }

  private func handle(topic: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer) {
    guard !topic.isEmpty, topic.count <= maxTopicBytes, let stream = validStreamID(topic) else {
      counters.reject(.badTopic)
      RateLimitedLog.shared.note(
        "bad_topic", logger,
        "rejected topic: must be 1…\(maxTopicBytes) bytes of UTF-8 without control characters (got \(topic.count) bytes)"
      )
      return
    }
    let hash = StableHash.fnv1a(topic)
    if shard.count > 1, StableHash.share(of: hash, count: shard.count) != shard.index {
      counters.messagesOtherShard.add(1)
      return
    }
    if let ownership, owned?.owns(ownership.partition(ofHash: hash), at: burstUptime) != true {
      counters.messagesOtherPartition.add(1)
      return
    }
    do {
      try SampleDecoder.decode(payload, into: &decoded)
    } catch {
      counters.reject(RejectReason(rawValue: error.reason) ?? .syntax)
      RateLimitedLog.shared.note(error.reason, logger, "rejected sample for stream \(stream): \(error.message)")
      return
    }
    let now = burstTimeMs
    let worker = Int(hash % UInt64(workers.count))
    for i in 0..<decoded.count {
      let ts = decoded.timestamps[i]
      batches[worker].append(
        stream: stream, timestampMs: ts == DecodedSamples.noTimestamp ? now : ts, values: decoded.sample(i))
    }
    counters.samplesReceived.add(UInt64(decoded.count))
    if batches[worker].count >= batchLimit { flush(worker) }
  }

  private func validStreamID(_ topic: UnsafeRawBufferPointer) -> String? {
    for b in topic where b < 0x20 || b == 0x7F { return nil }
    var iterator = topic.makeIterator()
    var decoder = UTF8()
    loop: while true {
      switch decoder.decode(&iterator) {
      case .scalarValue: continue
      case .emptyInput: break loop
      case .error: return nil
      }
    }
    return String(decoding: topic, as: UTF8.self)
  }

  private func flushAll() {
    for worker in batches.indices where batches[worker].count > 0 { flush(worker) }
  }

  private func flush(_ worker: Int) {
    let batch = batches[worker]
    batches[worker] = SampleBatch()
    if !workers[worker].tryPush(.samples(batch), weight: batch.count) {
      counters.samplesDropped.add(UInt64(batch.count))
      RateLimitedLog.shared.note(
        "dropped", logger, "worker \(worker) queue full: dropped \(batch.count) samples (see info ingest)")
    }
  }
}
