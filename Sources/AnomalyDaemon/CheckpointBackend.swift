import ClusterStore
import StateStore

/// A change to the saved state of one stream.
struct CheckpointChange: Sendable {
  var id: String
  /// The state to save; nil: the stream was evicted and its saved state must not come back.
  var row: CheckpointStore.Row?
  /// In cluster mode, the partition and the lease epoch the state was made under (the fencing
  /// token); nil on a single host.
  var fence: Fence?

  struct Fence: Sendable, Equatable {
    var partition: Int
    var epoch: Int64
  }

  static func save(_ row: CheckpointStore.Row, fence: Fence? = nil) -> Self {
    Self(id: row.id, row: row, fence: fence)
  }

  static func delete(_ id: String, fence: Fence? = nil) -> Self {
    Self(id: id, row: nil, fence: fence)
  }
}

/// Where the checkpoint thread writes: the embedded SQLite file, or the cluster's PostgreSQL.
protocol CheckpointBackend {
  /// For logs: the file or the server.
  var location: String { get }
  /// Writes the changes in one transaction; returns how many were refused by their fence.
  func write(_ changes: [CheckpointChange], nowMs: Int64) throws -> (written: Int, fenced: Int)
}

extension CheckpointStore: CheckpointBackend {
  var location: String { path }

  func write(_ changes: [CheckpointChange], nowMs: Int64) throws -> (written: Int, fenced: Int) {
    try save(changes.compactMap(\.row), deleting: changes.filter { $0.row == nil }.map(\.id), nowMs: nowMs)
    return (changes.count, 0)
  }
}

/// The cluster's shared checkpoints, on a connection of the checkpoint thread's own.
/// Records, per partition, when its streams were last written (`anomalyctl cluster`).
struct ClusterCheckpoints: CheckpointBackend {
  let store: SharedCheckpoints
  let url: PostgresURL
  let status: ClusterStatus

  var location: String { url.description }

  func write(_ changes: [CheckpointChange], nowMs: Int64) throws -> (written: Int, fenced: Int) {
    let outcome = try store.write(changes.compactMap(\.shared), nowMs: nowMs)
    status.saved(outcome.partitions, atMs: nowMs)
    let unfenced = changes.count { $0.fence == nil }
    return (outcome.written, outcome.fenced + unfenced)
  }
}

extension CheckpointChange {
  /// As the cluster store takes it; nil without a fence (it cannot be written there).
  var shared: SharedCheckpoints.Change? {
    fence.map { SharedCheckpoints.Change(id: id, partition: $0.partition, fence: $0.epoch, row: row) }
  }
}
