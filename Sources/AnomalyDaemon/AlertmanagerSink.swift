import DaemonConfig
import Foundation
import Logging
import Wire

/// Sends each episode to an Alertmanager as one alert (`POST /api/v2/alerts`): firing from the
/// event that opened it, re-sent while it lasts, resolved when it closes.
///
/// It runs on a thread of its own and talks to nothing but its queue and the HTTP server, so
/// a slow or absent Alertmanager never delays scoring: the workers' `tryPush` drops (and
/// counts) changes when the queue is full, and failed POSTs are retried with backoff.
///
/// As Prometheus does, every firing alert carries `endsAt` three re-send intervals ahead: if
/// the daemon dies, the Alertmanager resolves its alerts by itself.
final class AlertmanagerSink {
  static let alertName = "AnomalydAnomaly"

  private let poster: HTTPPoster
  private let path: String
  private let queue: BlockingQueue<AlertChange>
  private let counters: AlertCounters
  private let resendInterval: Double
  private let instance: String
  private let logger: Logger
  /// Firing alerts, by stream: what each re-send repeats.
  private var firing: [String: ScoreEvent] = [:]
  /// Alerts to send at the next attempt, by stream: the latest state of each (nil endsAt:
  /// firing). Keyed by stream, so its size is bounded by the number of streams.
  private var unsent: [String: (alert: ScoreEvent, resolvedAtMs: Int64?)] = [:]
  private var nextAttempt = 0.0
  private var backoff = 1.0
  private var nextResend = 0.0

  init(
    endpoint: DaemonConfiguration.HTTPEndpoint, queue: BlockingQueue<AlertChange>, counters: AlertCounters,
    resendInterval: Double, logger: Logger
  ) {
    poster = HTTPPoster(host: endpoint.address.host, port: endpoint.address.port)
    path = endpoint.prefix + "/api/v2/alerts"
    self.queue = queue
    self.counters = counters
    self.resendInterval = resendInterval
    self.logger = logger
    instance = Self.hostName()
  }

  func run(beat: () -> Void, shouldStop: () -> Bool) {
    nextResend = now() + resendInterval
    while !shouldStop() {
      beat()
      if let change = queue.pop(timeout: 0.2) { apply(change) }
      while let change = queue.pop(timeout: 0) { apply(change) }
      let time = now()
      if time >= nextResend {
        for (stream, alert) in firing where unsent[stream] == nil { unsent[stream] = (alert, nil) }
        nextResend = time + resendInterval
      }
      if !unsent.isEmpty && time >= nextAttempt { attempt(timeout: 3) }
    }
    // A last try, so the episodes that closed before the stop are resolved.
    while let change = queue.pop(timeout: 0) { apply(change) }
    if !unsent.isEmpty { attempt(timeout: 2) }
    poster.shutdown()
  }

  private func apply(_ change: AlertChange) {
    switch change {
    case .fire(let alert):
      firing[alert.stream] = alert
      unsent[alert.stream] = (alert, nil)
    case .resolve(let stream):
      guard let alert = firing.removeValue(forKey: stream) else { return }
      unsent[stream] = (alert, Int64(Date().timeIntervalSince1970 * 1000))
    }
    counters.open.store(firing.count, ordering: .relaxed)
  }

  private func attempt(timeout: Double) {
    let batch = Array(unsent.values)
    let body = "[" + batch.map { json($0.alert, resolvedAtMs: $0.resolvedAtMs) }.joined(separator: ",") + "]"
    do {
      let status = try poster.post(path: path, json: body, timeout: timeout)
      guard (200..<300).contains(status) else { throw HTTPPoster.Failure(description: "HTTP status \(status)") }
      unsent.removeAll(keepingCapacity: true)
      counters.sent.add(UInt64(batch.count))
      backoff = 1
    } catch {
      counters.failures.add(1)
      counters.lastError.withLock { $0 = "\(error)" }
      RateLimitedLog.shared.note(
        "alertmanager", logger, "cannot send \(batch.count) alerts to the Alertmanager (retrying): \(error)")
      nextAttempt = now() + backoff
      backoff = min(backoff * 2, 30)
    }
  }

  /// One postable alert of Alertmanager's API v2. Annotations are strings there.
  private func json(_ alert: ScoreEvent, resolvedAtMs: Int64?) -> String {
    let wallMs = Int64(Date().timeIntervalSince1970 * 1000)
    let endsAtMs = resolvedAtMs ?? wallMs + Int64(3 * resendInterval * 1000)
    // A reading stamped by a publisher ahead of this clock must not start after it ends.
    let startsAtMs = min(alert.timestampMs, endsAtMs - 1, wallMs)
    let numbers = { (values: [Double]) in "[" + values.map { Self.number($0) }.joined(separator: ", ") + "]" }
    let summary =
      "\(alert.stream): \(numbers(alert.values)) where \(numbers(alert.expected)) was expected "
      + "(score \(Self.number(alert.score)), \(alert.reason))"
    let labels: [(String, String)] = [
      ("alertname", Self.alertName), ("stream", alert.stream), ("reason", alert.reason), ("instance", instance),
    ]
    var annotations: [(String, String)] = [
      ("summary", summary), ("actual", numbers(alert.values)), ("expected", numbers(alert.expected)),
      ("score", Self.number(alert.score)), ("error", Self.number(alert.error)),
      ("error_threshold", Self.number(alert.errorThreshold)),
    ]
    if !alert.moments.isEmpty {
      // The past readings the reconstruction leaned on: where to look for what "normal" was.
      let moments = alert.moments.map { m in
        let when = m.timestampMs.map { formatTime($0) + ", " } ?? ""
        return "\(when)\(m.readingsBack) readings back, weight \(String(format: "%.2f", m.weight))"
      }
      annotations.append(("moments", moments.joined(separator: "; ")))
    }
    func object(_ pairs: [(String, String)]) -> String {
      "{" + pairs.map { JSONText.quoted($0.0) + ":" + JSONText.quoted($0.1) }.joined(separator: ",") + "}"
    }
    return "{\"labels\":\(object(labels)),\"annotations\":\(object(annotations)),"
      + "\"startsAt\":\(JSONText.quoted(formatTime(startsAtMs))),\"endsAt\":\(JSONText.quoted(formatTime(endsAtMs)))}"
  }

  private static func number(_ v: Double) -> String {
    v.isFinite ? String(format: "%.6g", v) : "n/a"
  }

  private func now() -> Double { ProcessInfo.processInfo.systemUptime }

  /// The host's name as `gethostname` has it: no resolver lookup, which could block the start.
  static func hostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown" }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }
}
