import Synchronization
import Wire

/// An episode's start or end, handed by a worker to the Alertmanager sink.
enum AlertChange: Sendable {
  /// The event that opened an episode: its stream and reason are the alert's identity, its
  /// figures the annotations.
  case fire(ScoreEvent)
  /// The episode closed (or the stream was reset or evicted while in one).
  case resolve(stream: String)
}

/// A worker's end of the sink's queue. A start is dropped (and counted) when the queue is
/// full; an end never is, or the sink would re-send a finished episode forever. Ends are
/// pushed only for starts that were queued, so they are bounded by the queue and the streams.
struct AlertOutput: Sendable {
  let queue: BlockingQueue<AlertChange>
  let counters: AlertCounters

  /// Whether the start was queued.
  func trySend(_ alert: AlertChange) -> Bool {
    if queue.tryPush(alert, weight: 1) { return true }
    counters.dropped.add(1)
    return false
  }

  func resolve(_ stream: String) {
    queue.push(.resolve(stream: stream))
  }
}

/// The Alertmanager sink's counters (`info publish`, `/metrics`).
final class AlertCounters: Sendable {
  /// Alerts (firing, re-sent or resolved) the Alertmanager accepted.
  let sent = Atomic<UInt64>(0)
  /// POSTs that failed (connection, timeout or a non-2xx status); retried.
  let failures = Atomic<UInt64>(0)
  /// Episode starts and ends dropped because the sink's queue was full.
  let dropped = Atomic<UInt64>(0)
  /// Alerts firing now.
  let open = Atomic<Int>(0)
  let lastError = Mutex("")
}
