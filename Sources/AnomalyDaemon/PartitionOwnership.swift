import Foundation
import StateStore
import Synchronization

/// Which cluster partitions this instance may score now, and until when.
///
/// The coordinator writes it after each turn with the database; the ingest thread reads it once
/// per burst of messages (a version number says when to copy it again), the workers once per
/// batch. Past `deadline` nothing is owned: a member that cannot renew its leases stops by
/// its own clock, before the database lets another member take them.
final class PartitionOwnership: Sendable {
  struct Snapshot: Sendable {
    /// One bit per partition.
    var owned: [UInt64]
    /// `ProcessInfo.systemUptime` at which the leases, as last renewed, run out.
    var deadline: Double

    @inline(__always)
    func owns(_ partition: Int, at now: Double) -> Bool {
      now < deadline && owned[partition >> 6] & (1 << UInt64(partition & 63)) != 0
    }
  }

  let partitions: Int
  private let state: Mutex<Snapshot>
  private let version = Atomic<UInt64>(1)
  private let deadlineBits = Atomic<UInt64>(0)

  init(partitions: Int) {
    self.partitions = partitions
    state = Mutex(Snapshot(owned: Array(repeating: 0, count: (partitions + 63) / 64), deadline: 0))
  }

  /// The partition of a stream id's stable hash.
  @inline(__always)
  func partition(ofHash hash: UInt64) -> Int { StableHash.partition(of: hash, count: partitions) }

  func partition(of id: String) -> Int { partition(ofHash: StableHash.fnv1a(id)) }

  func publish(owned: some Sequence<Int>, deadline: Double) {
    var bits = Array(repeating: UInt64(0), count: (partitions + 63) / 64)
    for p in owned { bits[p >> 6] |= 1 << UInt64(p & 63) }
    state.withLock { $0 = Snapshot(owned: bits, deadline: deadline) }
    deadlineBits.store(deadline.bitPattern, ordering: .releasing)
    version.wrappingAdd(1, ordering: .releasing)
  }

  /// The current snapshot when it changed since `seen` (which is then updated); nil otherwise.
  func snapshot(newerThan seen: inout UInt64) -> Snapshot? {
    let now = version.load(ordering: .acquiring)
    guard now != seen else { return nil }
    seen = now
    return state.withLock { $0 }
  }

  /// Whether the leases are still valid by this host's clock.
  var isValid: Bool {
    ProcessInfo.processInfo.systemUptime < Double(bitPattern: deadlineBits.load(ordering: .acquiring))
  }
}
