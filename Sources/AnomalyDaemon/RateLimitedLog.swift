import Foundation
import Logging
import Synchronization

/// Logs a kind of problem at most once per interval, with how many were suppressed, so a
/// flood of bad input cannot flood the journal. Every instance is still counted elsewhere.
final class RateLimitedLog: Sendable {
  static let shared = RateLimitedLog(interval: 10)

  private struct Entry {
    var lastLogged: Double
    var suppressed: Int
  }

  private let interval: Double
  private let entries = Mutex<[String: Entry]>([:])

  init(interval: Double) {
    self.interval = interval
  }

  func note(_ kind: String, _ logger: Logger, _ message: @autoclosure () -> String) {
    let now = ProcessInfo.processInfo.systemUptime
    let suppressed: Int? = entries.withLock { table in
      if var entry = table[kind] {
        if now - entry.lastLogged < interval {
          entry.suppressed += 1
          table[kind] = entry
          return nil
        }
        let count = entry.suppressed
        table[kind] = Entry(lastLogged: now, suppressed: 0)
        return count
      }
      table[kind] = Entry(lastLogged: now, suppressed: 0)
      return 0
    }
    guard let suppressed else { return }
    let suffix = suppressed > 0 ? " (\(suppressed) more like it since the last report)" : ""
    logger.warning("\(message())\(suffix)", metadata: ["reason": "\(kind)"])
  }
}
