import Foundation
import Synchronization

/// What the systemd watchdog vouches for: that every thread which scores or moves data still
/// goes round its loop.
///
/// The ingest, worker, publish and control threads each beat once per turn of their loop;
/// each turn waits at most 200 ms for work, so a thread that has not beaten for
/// `stallLimit` seconds is stuck inside one item (a deadlock, a call that never returns).
/// The main thread then stops sending WATCHDOG=1 and says which thread, and systemd restarts
/// the daemon after `WatchdogSec`. The checkpoint thread is left out: a slow disk delays
/// checkpoints, not scoring, and `info persistence` shows it (the age of the last one).
final class Heartbeats: Sendable {
  /// A third of the watchdog period (10 s for the unit's WatchdogSec of 30 s), and at least
  /// 5 s: longer than the longest single item a thread handles (a checkpoint hand-over of
  /// every stream a worker holds), short against the period itself.
  let stallLimit: Double

  init(watchdogPeriod: Double?) {
    stallLimit = max(5, (watchdogPeriod ?? 30) / 3)
  }

  final class Heartbeat: Sendable {
    let name: String
    /// Milliseconds of system uptime at the last beat.
    private let last = Atomic<Int64>(Heartbeats.nowMs())
    init(name: String) { self.name = name }
    func beat() { last.store(Heartbeats.nowMs(), ordering: .relaxed) }
    var age: Double { Double(Heartbeats.nowMs() - last.load(ordering: .relaxed)) / 1000 }
  }

  private let all = Mutex<[Heartbeat]>([])

  func register(_ name: String) -> Heartbeat {
    let heartbeat = Heartbeat(name: name)
    all.withLock { $0.append(heartbeat) }
    return heartbeat
  }

  /// The threads that have not beaten for `stallLimit` seconds, with how long.
  func stalled() -> [(name: String, age: Double)] {
    all.withLock { $0.map { ($0.name, $0.age) }.filter { $0.1 > stallLimit } }
  }

  static func nowMs() -> Int64 { Int64(ProcessInfo.processInfo.systemUptime * 1000) }
}
