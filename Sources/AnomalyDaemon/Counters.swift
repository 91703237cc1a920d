import Synchronization

/// Why ingest or a worker refused a message. Every refusal is counted under one of these.
enum RejectReason: String, CaseIterable, Sendable {
  // Wire decoding (see Wire.DecodeError.reason).
  case empty
  case invalidUTF8 = "invalid_utf8"
  case syntax
  case nonFinite = "non_finite"
  case outOfRange = "out_of_range"
  case tooManyChannels = "too_many_channels"
  case badTimestamp = "bad_timestamp"
  case unsupportedVersion = "unsupported_version"
  case truncated
  // Message framing and stream bookkeeping.
  case missingPayload = "missing_payload"
  case extraFrames = "extra_frames"
  case badTopic = "bad_topic"
  case channelMismatch = "channel_mismatch"
  case tooManyStreams = "too_many_streams"

  var index: Int { RejectReason.allCases.firstIndex(of: self)! }
}

/// The daemon's counters. Written by the ingest, worker and publisher threads with relaxed
/// atomics (no lock on the hot path), read by the control thread.
final class Counters: Sendable {
  /// Multipart messages taken off the SUB socket.
  let messagesReceived = Atomic<UInt64>(0)
  /// Messages for streams another instance owns (`server.shard`), skipped undecoded.
  let messagesOtherShard = Atomic<UInt64>(0)
  /// Cluster mode: messages for partitions this instance does not hold, skipped undecoded.
  let messagesOtherPartition = Atomic<UInt64>(0)
  /// Cluster mode: samples a worker refused because their partition's lease had lapsed, or
  /// had just been handed over, by the time it came to score them.
  let samplesNotOwned = Atomic<UInt64>(0)
  /// Samples decoded from accepted messages.
  let samplesReceived = Atomic<UInt64>(0)
  /// Samples a detector scored.
  let samplesScored = Atomic<UInt64>(0)
  /// Samples dropped because a worker queue was full.
  let samplesDropped = Atomic<UInt64>(0)
  /// Anomaly events raised.
  let anomalies = Atomic<UInt64>(0)
  /// Score events handed to the PUB socket.
  let eventsPublished = Atomic<UInt64>(0)
  /// Score events dropped because the publisher queue was full.
  let eventsDropped = Atomic<UInt64>(0)
  /// Streams currently known (all workers).
  let streams = Atomic<Int>(0)
  /// Streams forgotten to make room for new ones (`stream_eviction = "lru"`).
  let streamsEvicted = Atomic<UInt64>(0)
  /// Evicted streams that came back and resumed from their saved state (`keep_evicted_state`).
  let streamsResumed = Atomic<UInt64>(0)
  /// Evicted streams whose state could not be queued for the state file (the checkpoint
  /// writer was too far behind); such a stream resumes from an older save, or starts fresh.
  let evictedStatesDropped = Atomic<UInt64>(0)
  /// Samples whose timestamp went backwards for their stream (accepted and scored).
  let timestampsBackwards = Atomic<UInt64>(0)
  /// Reloads done and failed.
  let reloads = Atomic<UInt64>(0)
  let reloadFailures = Atomic<UInt64>(0)

  /// Rejections by reason: messages for decode/framing reasons, samples for stream reasons.
  private let rejected: Mutex<[UInt64]> = Mutex(Array(repeating: 0, count: RejectReason.allCases.count))

  func reject(_ reason: RejectReason, count: UInt64 = 1) {
    rejected.withLock { $0[reason.index] += count }
  }

  var rejectedByReason: [(RejectReason, UInt64)] {
    let values = rejected.withLock { $0 }
    return RejectReason.allCases.map { ($0, values[$0.index]) }
  }

  var rejectedTotal: UInt64 {
    rejected.withLock { $0.reduce(0, +) }
  }
}

extension Atomic where Value == UInt64 {
  func add(_ n: UInt64) { wrappingAdd(n, ordering: .relaxed) }
  var value: UInt64 { load(ordering: .relaxed) }
}
