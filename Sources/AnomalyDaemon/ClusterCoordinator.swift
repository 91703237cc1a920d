import ClusterStore
import Foundation
import Logging
import StateStore

/// The cluster thread: keeps this instance's leases, and moves partitions in and out.
///
/// Every quarter of the lease time it renews this member's lease and its partitions' in one
/// transaction, and reads who is alive. Rendezvous hashing over the live members says which
/// partitions this member should hold (`PartitionAssignment`): it hands over those it should
/// not (writing their streams' state first, then releasing the lease so the new owner need not
/// wait), and claims those it should that are free. A claimed partition's saved streams are
/// loaded and given to the workers before the ingest thread may route its samples, so scoring
/// resumes where the last owner's checkpoint left it.
///
/// If renewals fail, the leases run out by this host's clock (`PartitionOwnership`), 10 %
/// before the database's: scoring stops before another member can take over.
final class ClusterCoordinator {
  private let session: PostgresSession
  private let leases: PartitionLeases
  private let store: SharedCheckpoints
  private let ownership: PartitionOwnership
  private let status: ClusterStatus
  private let workers: [BlockingQueue<WorkItem>]
  private let persistence: PersistenceCounters
  private let controlPath: String
  private let logger: Logger
  /// The partitions this instance holds, with their lease epochs.
  private var held: [Int: Int64] = [:]
  /// Uptime at which the leases, as last renewed, run out by this host's clock.
  private var deadline = 0.0
  /// How long a worker may take to hand a partition's streams back.
  private let handBackWait = 10.0

  init(
    session: PostgresSession, member: String, leaseSeconds: Double, ownership: PartitionOwnership,
    status: ClusterStatus, workers: [BlockingQueue<WorkItem>], persistence: PersistenceCounters,
    controlPath: String, logger: Logger
  ) {
    self.session = session
    leases = PartitionLeases(session: session, member: member, leaseSeconds: leaseSeconds)
    store = SharedCheckpoints(session: session, member: member)
    self.ownership = ownership
    self.status = status
    self.workers = workers
    self.persistence = persistence
    self.controlPath = controlPath
    self.logger = logger
  }

  /// Turns until `shouldStop`, then hands every partition over and leaves the cluster.
  func run(shouldStop: @Sendable () -> Bool) {
    var next = 0.0
    while !shouldStop() {
      let now = ProcessInfo.processInfo.systemUptime
      if now >= next {
        next = now + leases.leaseSeconds / 4
        turn()
      }
      if !held.isEmpty, ProcessInfo.processInfo.systemUptime >= deadline { lapse() }
      Thread.sleep(forTimeInterval: min(0.05, max(0, next - ProcessInfo.processInfo.systemUptime)))
    }
    leave()
  }

  private func turn() {
    let started = ProcessInfo.processInfo.systemUptime
    let seen: PartitionLeases.Turn
    do {
      seen = try leases.renew(control: controlPath)
    } catch {
      fail("cannot renew the cluster leases", error)
      return
    }
    deadline = started + leases.leaseSeconds * 0.9
    // Held here but not renewed: the database let the lease lapse, or another member took it.
    let lost = held.filter { seen.renewed[$0.key] != $0.value }.map(\.key)
    if !lost.isEmpty {
      status.leaseLosses.add(UInt64(lost.count))
      for p in lost { held[p] = nil }
      logger.error("lost the lease of \(lost.count) partitions; their streams stop here")
      ownership.publish(owned: held.keys, deadline: deadline)
      drop(Set(lost))
    }
    let desired = Set(
      PartitionAssignment.partitions(of: leases.member, among: seen.members.map(\.name), count: ownership.partitions))
    // Renewed but not held: dropped here at a lapse while the database still had them.
    var taking = seen.renewed.filter { held[$0.key] == nil && desired.contains($0.key) }
    let stale = seen.renewed.keys.filter { held[$0] == nil && !desired.contains($0) }
    let owners = Dictionary(seen.partitions.map { ($0.partition, $0.owner) }) { first, _ in first }
    let free = desired.filter { held[$0] == nil && seen.renewed[$0] == nil && owners[$0] == .some(nil) }
    do {
      if !stale.isEmpty { try leases.release(Array(stale)) }
      let claimed = try leases.claim(free.sorted())
      status.partitionsTaken.add(UInt64(claimed.count))
      taking.merge(claimed) { $1 }
      if !taking.isEmpty { try take(taking) }
    } catch {
      fail("cannot take partitions", error)
    }
    ownership.publish(owned: held.keys, deadline: deadline)
    let leaving = Set(held.keys.filter { !desired.contains($0) })
    if !leaving.isEmpty { handOver(leaving) }
    let holding = held
    status.view.withLock { v in
      v.members = seen.members
      v.partitions = seen.partitions
      v.held = holding
      v.lastSavedMs = v.lastSavedMs.filter { holding[$0.key] != nil }
      v.lastRenewal = ProcessInfo.processInfo.systemUptime
      v.lastError = ""
    }
  }

  /// Loads the partitions' saved streams and gives them to the workers, each its own by the
  /// stable hash; every worker learns the epochs, so the streams it creates are fenced too.
  private func take(_ partitions: [Int: Int64]) throws(ClusterStoreError) {
    let rows = try store.load(partitions: Array(partitions.keys))
    var byWorker = Array(repeating: [CheckpointStore.Row](), count: workers.count)
    for row in rows { byWorker[Int(StableHash.fnv1a(row.id) % UInt64(workers.count))].append(row) }
    for (index, queue) in workers.enumerated() { queue.push(.adopt(epochs: partitions, rows: byWorker[index])) }
    held.merge(partitions) { $1 }
    persistence.restored.add(UInt64(rows.count))
    logger.notice(
      "took partitions", metadata: ["partitions": "\(partitions.count)", "streams": "\(rows.count)"])
  }

  /// Stops routing the partitions, has the workers hand their streams back, writes the state
  /// of every moved stream, and releases the leases. If any of that fails, the next turn finds
  /// the leases renewed but not held and releases them unwritten: the next owner resumes from
  /// the last checkpoint.
  private func handOver(_ partitions: Set<Int>) {
    for p in partitions { held[p] = nil }
    ownership.publish(owned: held.keys, deadline: deadline)
    guard let changes = gather(partitions, keepState: true) else {
      logger.error("a worker did not hand back its streams within \(handBackWait) s; their last states are lost")
      return
    }
    do {
      let outcome = try store.write(changes.compactMap(\.shared), nowMs: Int64(Date().timeIntervalSince1970 * 1000))
      persistence.fenced.add(UInt64(outcome.fenced))
      persistence.streamsWritten.add(UInt64(outcome.written))
      try leases.release(Array(partitions))
      status.partitionsHandedOver.add(UInt64(partitions.count))
      logger.notice(
        "handed partitions over", metadata: ["partitions": "\(partitions.count)", "streams": "\(outcome.written)"])
    } catch {
      fail("cannot hand partitions over; their next owner resumes from the last state saved", error)
    }
  }

  /// Asks every worker for the partitions' streams; nil if one does not answer in time.
  private func gather(_ partitions: Set<Int>, keepState: Bool) -> [CheckpointChange]? {
    let replies = askHandBack(partitions, keepState: keepState)
    var changes: [CheckpointChange] = []
    let until = ProcessInfo.processInfo.systemUptime + handBackWait
    for _ in workers {
      guard let answer = replies.pop(timeout: max(0, until - ProcessInfo.processInfo.systemUptime)) else { return nil }
      changes += answer
    }
    return changes
  }

  /// The workers forget the partitions' streams without saving them: the lease is gone.
  private func drop(_ partitions: Set<Int>) {
    _ = askHandBack(partitions, keepState: false)
  }

  /// Queues the hand-back on every worker; each answers once on the returned queue.
  private func askHandBack(_ partitions: Set<Int>, keepState: Bool) -> BlockingQueue<[CheckpointChange]> {
    let replies = BlockingQueue<[CheckpointChange]>(capacity: .max)
    for queue in workers { queue.push(.handBack(partitions: partitions, keepState: keepState, reply: replies)) }
    return replies
  }

  /// The leases ran out by this host's clock without a renewal.
  private func lapse() {
    status.leaseLosses.add(UInt64(held.count))
    logger.error(
      "cluster leases lapsed: no renewal for \(leases.leaseSeconds * 0.9) s; stopped scoring \(held.count) partitions")
    let partitions = Set(held.keys)
    held = [:]
    ownership.publish(owned: [], deadline: 0)
    status.view.withLock { $0.held = [:] }
    drop(partitions)
  }

  /// At stop (after ingest has stopped): hands every partition over, then leaves, so the
  /// others take over at once instead of after the lease time.
  private func leave() {
    if !held.isEmpty, ProcessInfo.processInfo.systemUptime < deadline { handOver(Set(held.keys)) }
    do {
      try leases.leave()
    } catch {
      logger.error("cannot leave the cluster cleanly: \(error); the others take over when the lease lapses")
    }
    session.close()
  }

  private func fail(_ what: String, _ error: ClusterStoreError) {
    status.failures.add(1)
    status.view.withLock { $0.lastError = "\(what): \(error)" }
    RateLimitedLog.shared.note("cluster", logger, "\(what): \(error)")
  }
}
