import StateStore

/// Samples bound for one worker, gathered by the ingest thread and handed over in one queue
/// operation (one lock per batch instead of per sample).
struct SampleBatch: Sendable {
  struct Entry: Sendable {
    var stream: String
    var timestampMs: Int64
    var channels: Int
    /// Start of this sample's values in `values`.
    var offset: Int
  }

  var entries: [Entry] = []
  var values: [Double] = []

  var count: Int { entries.count }

  mutating func append(stream: String, timestampMs: Int64, values sample: ArraySlice<Double>) {
    entries.append(Entry(stream: stream, timestampMs: timestampMs, channels: sample.count, offset: values.count))
    values.append(contentsOf: sample)
  }
}

/// What a worker can be asked to do.
enum WorkItem: Sendable {
  case samples(SampleBatch)
  case query(WorkerQuery)
  /// Hand the state of every stream that changed since the last checkpoint to the checkpointer.
  case checkpoint
  /// Cluster mode: take partitions over under these lease epochs, with their saved streams
  /// that hash to this worker.
  case adopt(epochs: [Int: Int64], rows: [CheckpointStore.Row])
  /// Cluster mode: give partitions up; the changed states go back on `reply` when
  /// `keepState` (a hand-over), or are dropped (a lost lease).
  case handBack(partitions: Set<Int>, keepState: Bool, reply: BlockingQueue<[CheckpointChange]>)
}

/// An event ready for the PUB socket: topic, JSON body, sequence frame.
struct OutgoingEvent: Sendable {
  var topic: [UInt8]
  var body: [UInt8]
  var sequence: [UInt8]
}
