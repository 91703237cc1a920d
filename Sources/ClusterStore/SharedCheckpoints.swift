import NIOCore
import PostgresNIO
import StateStore

/// Streams' checkpointed state in the shared database, written only under a valid lease.
///
/// Every write carries the epoch of the partition's lease under which its state was made (the
/// fencing token). The write first locks this member's valid partition rows (`FOR SHARE`), so
/// no other member can take one of them until the transaction ends, and writes only the
/// changes whose epoch is still current: a member that lost a partition, even one that does
/// not know it yet, cannot overwrite what the new owner has saved since.
public struct SharedCheckpoints {
  private let session: PostgresSession
  public let member: String

  public init(session: PostgresSession, member: String) {
    self.session = session
    self.member = member
  }

  /// A change to one stream's saved state.
  public struct Change: Sendable {
    public var id: String
    public var partition: Int
    /// The partition's lease epoch when the state was taken.
    public var fence: Int64
    /// The state to save; nil removes the stream's row.
    public var row: CheckpointStore.Row?

    public init(id: String, partition: Int, fence: Int64, row: CheckpointStore.Row?) {
      self.id = id
      self.partition = partition
      self.fence = fence
      self.row = row
    }
  }

  public struct Outcome: Sendable, Equatable {
    /// Partitions with at least one change written.
    public var partitions: Set<Int> = []
    public var written = 0
    /// Changes refused: their partition's lease is no longer this member's, or its epoch moved.
    public var fenced = 0
  }

  /// Writes the changes still covered by a lease, in one transaction.
  public func write(_ changes: [Change], nowMs: Int64) throws(ClusterStoreError) -> Outcome {
    guard !changes.isEmpty else { return Outcome() }
    return try session.transaction { () throws(ClusterStoreError) -> Outcome in
      var held: [Int: Int64] = [:]
      for row in try session.rows(
        """
        SELECT partition, epoch FROM anomalyd_partitions
        WHERE owner = \(member) AND lease_until > clock_timestamp() FOR SHARE
        """)
      {
        let (partition, epoch) = try decode(row, as: (Int32, Int64).self)
        held[Int(partition)] = epoch
      }
      var outcome = Outcome()
      var saves: [CheckpointStore.Row] = []
      var savePartitions: [Int32] = []
      var deletions: [String] = []
      for change in changes {
        guard held[change.partition] == change.fence else {
          outcome.fenced += 1
          continue
        }
        outcome.partitions.insert(change.partition)
        if let row = change.row {
          saves.append(row)
          savePartitions.append(Int32(change.partition))
        } else {
          deletions.append(change.id)
        }
      }
      if !deletions.isEmpty { try session.rows("DELETE FROM anomalyd_streams WHERE id = ANY(\(deletions))") }
      if !saves.isEmpty {
        let states = saves.map { ByteBuffer(bytes: $0.state) }
        try session.rows(
          """
          INSERT INTO anomalyd_streams (id, partition, state, samples, anomalies, next_sequence, last_seen_ms, saved_ms)
          SELECT *, \(nowMs)::int8 FROM unnest(\(saves.map(\.id))::text[], \(savePartitions)::int4[], \(states)::bytea[],
            \(saves.map { Int64(bitPattern: $0.samples) })::int8[], \(saves.map { Int64(bitPattern: $0.anomalies) })::int8[],
            \(saves.map { Int64(bitPattern: $0.nextSequence) })::int8[], \(saves.map(\.lastSeenMs))::int8[])
          ON CONFLICT (id) DO UPDATE SET partition = EXCLUDED.partition, state = EXCLUDED.state,
            samples = EXCLUDED.samples, anomalies = EXCLUDED.anomalies, next_sequence = EXCLUDED.next_sequence,
            last_seen_ms = EXCLUDED.last_seen_ms, saved_ms = EXCLUDED.saved_ms
          """)
      }
      outcome.written = saves.count + deletions.count
      return outcome
    }
  }

  /// The saved streams of `partitions`.
  public func load(partitions: [Int]) throws(ClusterStoreError) -> [CheckpointStore.Row] {
    guard !partitions.isEmpty else { return [] }
    var rows: [CheckpointStore.Row] = []
    for row in try session.rows(
      """
      SELECT id, state, samples, anomalies, next_sequence, last_seen_ms FROM anomalyd_streams
      WHERE partition = ANY(\(partitions.map(Int32.init)))
      """)
    {
      let (id, state, samples, anomalies, next, lastSeen) = try decode(
        row, as: (String, ByteBuffer, Int64, Int64, Int64, Int64).self)
      rows.append(
        CheckpointStore.Row(
          id: id, state: Array(state.readableBytesView), samples: UInt64(bitPattern: samples),
          anomalies: UInt64(bitPattern: anomalies), nextSequence: UInt64(bitPattern: next), lastSeenMs: lastSeen))
    }
    return rows
  }
}
