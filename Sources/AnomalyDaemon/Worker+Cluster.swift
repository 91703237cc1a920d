import StateStore

/// Cluster mode on a worker: which partitions it holds under which lease epoch, taking streams
/// over from the shared store and handing them back.
///
/// The epochs change only through the worker's own queue (`adopt`, `handBack`), in order with
/// the samples, so every checkpoint row carries the epoch its state was made under. The
/// coordinator's `PartitionOwnership` says when to stop: past its deadline a batch is refused.
extension Worker {
  /// The fencing token for a stream's state; nil on a single host, or for a partition this
  /// worker does not hold (the write is then refused and counted).
  func fence(for id: String) -> CheckpointChange.Fence? {
    guard let ownership else { return nil }
    let partition = ownership.partition(of: id)
    return partitionEpochs[partition].map { .init(partition: partition, epoch: $0) }
  }

  /// Whether a new stream may be created here: always on a single host; in cluster mode only
  /// for a partition this worker holds (samples routed just before a hand-over are refused).
  func mayCreate(_ id: String) -> Bool {
    guard let ownership else { return true }
    return partitionEpochs[ownership.partition(of: id)] != nil
  }

  /// Takes partitions over: their epochs, and the saved streams of this worker among them.
  /// Returns the ids whose state did not decode (they start fresh).
  func adopt(epochs: [Int: Int64], rows: [CheckpointStore.Row]) -> [String] {
    partitionEpochs.merge(epochs) { $1 }
    var unusable: [String] = []
    for row in rows {
      guard let state = try? Self.streamState(from: row) else {
        unusable.append(row.id)
        continue
      }
      guard makeRoom(for: row.id) else { continue }
      adopt([state], counted: false)
    }
    return unusable
  }

  /// Gives partitions up: their streams leave this worker. With `keepState`, every one of
  /// their states is returned for the coordinator to write before it releases the lease: not
  /// only those changed since the last checkpoint, since that checkpoint may still be queued
  /// for the checkpoint thread, whose write the release would then fence. Without (the lease
  /// is already lost), the states are dropped.
  func handBack(_ partitions: Set<Int>, keepState: Bool) -> [CheckpointChange] {
    guard let ownership else { return [] }
    var changes: [CheckpointChange] = []
    for (id, stream) in streams {
      let partition = ownership.partition(of: id)
      guard partitions.contains(partition) else { continue }
      if keepState, let epoch = partitionEpochs[partition] {
        changes.append(.save(row(for: stream), fence: .init(partition: partition, epoch: epoch)))
      }
      unmarkDirty(stream)
      closeAlert(stream)
      streams[id] = nil
      streamCount -= 1
      counters.streams.wrappingSubtract(1, ordering: .relaxed)
    }
    for partition in partitions { partitionEpochs[partition] = nil }
    clockOrder.removeAll { streams[$0] == nil }
    clockHand = 0
    return changes
  }
}
