import ClusterStore
import Foundation
import Synchronization

/// What the coordinator last saw of the cluster and what it did, for `anomalyctl cluster`
/// and `/metrics`. Written by the coordinator and the checkpoint thread, read by the control
/// thread.
final class ClusterStatus: Sendable {
  struct View: Sendable {
    var members: [PartitionLeases.Member] = []
    /// Every partition's owner, epoch and hand-over count, as of the last renewal.
    var partitions: [PartitionLeases.Partition] = []
    /// The partitions this instance holds, with their epochs.
    var held: [Int: Int64] = [:]
    /// Unix milliseconds of the last write that included each held partition's streams.
    var lastSavedMs: [Int: Int64] = [:]
    /// Uptime seconds of the last renewal that succeeded; nil before the first.
    var lastRenewal: Double?
    var lastError = ""
  }

  let member: String
  let partitionCount: Int
  let leaseSeconds: Double
  let view = Mutex(View())
  /// Partitions this instance took (a claim that raised the epoch).
  let partitionsTaken = Atomic<UInt64>(0)
  /// Partitions this instance gave up on purpose, after writing their streams' state.
  let partitionsHandedOver = Atomic<UInt64>(0)
  /// Partitions whose lease this instance lost: it could not renew in time, or found
  /// another owner.
  let leaseLosses = Atomic<UInt64>(0)
  /// Turns with the database that failed (unreachable, too slow, or refused).
  let failures = Atomic<UInt64>(0)

  init(member: String, partitionCount: Int, leaseSeconds: Double) {
    self.member = member
    self.partitionCount = partitionCount
    self.leaseSeconds = leaseSeconds
  }

  func saved(_ partitions: Set<Int>, atMs now: Int64) {
    guard !partitions.isEmpty else { return }
    view.withLock { v in for p in partitions { v.lastSavedMs[p] = now } }
  }
}
