import Logging
import Synchronization
import ZeroMQ

/// CURVE counters, read by `info server`.
final class SecurityCounters: Sendable {
  let accepted = Atomic<UInt64>(0)
  let denied = Atomic<UInt64>(0)
}

/// The ZAP handler (ZeroMQ RFC 27): libzmq asks it, over `inproc://zeromq.zap.01`, whether each
/// CURVE client may connect; it answers from the allow-list of client public keys. Runs on its
/// own thread, which owns its REP socket.
final class ZapHandler {
  static let endpoint = "inproc://zeromq.zap.01"
  private let socket: Socket
  private let allowed: Set<String>
  private let counters: SecurityCounters
  private let logger: Logger

  init(context: Context, allowed: [String], counters: SecurityCounters, logger: Logger) throws(ZMQError) {
    socket = try Socket(context, .rep)
    try socket.bind(ZapHandler.endpoint)
    self.allowed = Set(allowed)
    self.counters = counters
    self.logger = logger
  }

  func run(shouldStop: @Sendable () -> Bool) {
    var polls = PollSet()
    polls.add(socket)
    let frame = Frame()
    while !shouldStop() {
      do {
        guard try polls.poll(timeoutMilliseconds: 100) > 0 else { continue }
        var parts: [[UInt8]] = []
        repeat {
          _ = try socket.receive(into: frame)
          parts.append(frame.array)
        } while frame.hasMore
        try answer(parts)
      } catch {
        if error.isTerminated { break }
        logger.error("ZAP handler: \(error)")
      }
    }
    socket.close()
  }

  /// Request: version, request id, domain, address, identity, mechanism, credentials…
  private func answer(_ parts: [[UInt8]]) throws(ZMQError) {
    guard parts.count >= 6 else { return }
    let address = String(decoding: parts[3], as: UTF8.self)
    let mechanism = String(decoding: parts[5], as: UTF8.self)
    var key: String?
    if mechanism == "CURVE", parts.count >= 7 {
      key = parts[6].withUnsafeBytes { Curve.z85($0) }
    }
    let ok = key.map { allowed.isEmpty || allowed.contains($0) } ?? false
    if ok {
      counters.accepted.add(1)
    } else {
      counters.denied.add(1)
      RateLimitedLog.shared.note(
        "curve_denied", logger, "CURVE client \(key ?? "?") from \(address) is not in security.curve_allowed_clients")
    }
    let reply: [[UInt8]] = [
      Array("1.0".utf8), parts[1], Array((ok ? "200" : "400").utf8), Array((ok ? "OK" : "not allowed").utf8),
      Array((key ?? "").utf8), [],
    ]
    for (i, part) in reply.enumerated() { try socket.send(part, more: i < reply.count - 1) }
  }
}
