import ControlProtocol
import Foundation
import StateStore
import Synchronization

/// A question the control thread asks a worker, answered on the worker's own thread so that
/// stream state is never touched from two threads.
final class WorkerQuery: Sendable {
  enum Request: Sendable {
    /// Summaries of every stream (`streams`), or of one (`stream <id>`).
    case summaries(only: String?)
    /// A stream's recent readings.
    case history(String)
    /// An operator's verdict on one of a stream's events.
    case feedback(String, FeedbackVerdict)
    /// The per-stream gauges of at most `limit` streams, the first by id.
    case gauges(limit: Int)
    /// Forget a stream's learned state.
    case reset(String)
    /// A stream's state as a checkpoint row.
    case export(String)
    /// Install a stream's state (already validated), replacing what the worker has.
    case install(CheckpointStore.Row)
  }

  enum Answer: Sendable {
    case summaries([StreamSummary])
    /// nil: no such stream here.
    case feedback(Result<String, DaemonError>?)
    /// nil: no such stream here. An empty list: the stream keeps no history.
    case history(StreamHistory.Snapshot?)
    /// `total` counts every stream of the worker, shown or not.
    case gauges([StreamGauges], total: Int)
    case reset(found: Bool)
    case exported(CheckpointStore.Row?)
    case installed
    case refused(String)
  }

  let request: Request
  private let answer = Mutex<Answer?>(nil)
  private let done = DispatchSemaphore(value: 0)

  init(_ request: Request) {
    self.request = request
  }

  func reply(_ value: Answer) {
    answer.withLock { $0 = value }
    done.signal()
  }

  /// Waits for the worker's answer; nil if it did not answer in time.
  func wait(seconds: Double) -> Answer? {
    guard done.wait(timeout: .now() + seconds) == .success else { return nil }
    return answer.withLock { $0 }
  }
}
