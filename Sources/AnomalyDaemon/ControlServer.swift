import ControlProtocol
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// What the control server has seen, for `info control`.
final class ControlCounters: Sendable {
  let accepted = Atomic<UInt64>(0)
  /// Connections closed at once because `control.max_connections` were open.
  let refused = Atomic<UInt64>(0)
  /// Connections dropped because their request and reply took longer than the client timeout.
  let timedOut = Atomic<UInt64>(0)
  /// Requests refused for being longer than `ControlRequest.maxLength`.
  let oversized = Atomic<UInt64>(0)
  let open = Atomic<Int>(0)
}

/// The control thread: answers one request per connection on the Unix socket, serving every
/// open connection at once.
///
/// Authority is the socket file's permissions (mode 0660 by default): whoever can connect may
/// reset streams and reload. Nothing mutating is reachable over any network endpoint.
///
/// One thread and `poll` over non-blocking sockets, not a pool of threads: a stalled client
/// then costs a descriptor and a buffer, not a thread, and the handler (which answers from the
/// workers within milliseconds) keeps running on one thread, as before. A client that stalls,
/// sends byte by byte or sends an oversized line only holds its own connection, which is
/// dropped `clientTimeout` seconds after it was accepted; replies are written as the socket
/// takes them. Past `maxConnections` open connections a new one is told so and closed.
final class ControlServer {
  /// Seconds from accepting a connection to having written its reply.
  static let clientTimeout = 2.0
  /// A connection holding more than this many request bytes reads more only while all
  /// connections together hold less than `heldLimit`: 256 clients sending 4 MiB lines at once
  /// would otherwise hold a gigabyte.
  static let largeRequest = 1 << 16
  static let heldLimit = 4 * ControlRequest.maxLength

  let path: String
  private let listener: Int32
  private let maxConnections: Int
  private let counters: ControlCounters
  private let handler: @Sendable (ControlRequest) -> ControlReply
  private let logger: Logger
  private var connections: [Connection] = []
  /// Request bytes held by all connections.
  private var held = 0
  /// Of `connections`, those refused past the cap.
  private var refusedOpen = 0
  /// Set after `accept` ran out of descriptors: the listener is left alone until then.
  private var acceptPausedUntil = 0.0
  /// Every read lands here first: one buffer for the thread, not one per read.
  private var readBuffer = [UInt8](repeating: 0, count: 65536)

  /// Refused connections kept just long enough to hand over their refusal (a socket closed
  /// with its request unread would reset, and the client would see the reset, not the reason).
  static let refusedKept = 64
  static let refusalTimeout = 0.5

  private final class Connection {
    let fd: Int32
    let deadline: Double
    /// Past the cap: it only gets its refusal, and does not count against the cap.
    var refused = false
    var request: [UInt8] = []
    var reply: [UInt8] = []
    var written = 0
    /// After the reply: the write side is shut and input is read and dropped until EOF, so a
    /// client still sending (an oversized line) reads the reply instead of a reset.
    var draining = false
    var replied: Bool { !reply.isEmpty || draining }

    init(fd: Int32, deadline: Double) {
      self.fd = fd
      self.deadline = deadline
    }
  }

  init(
    path: String, mode: UInt32, group: gid_t?, maxConnections: Int, counters: ControlCounters, logger: Logger,
    handler: @escaping @Sendable (ControlRequest) -> ControlReply
  ) throws(SystemError) {
    self.path = path
    self.maxConnections = maxConnections
    self.counters = counters
    self.handler = handler
    self.logger = logger
    listener = try UnixSocket.listen(path, mode: mode, group: group)
    _ = fcntl(listener, F_SETFL, fcntl(listener, F_GETFL) | O_NONBLOCK)
  }

  func run(shouldStop: @Sendable () -> Bool) {
    defer {
      for connection in connections { close(connection.fd) }
      counters.open.store(0, ordering: .relaxed)
      close(listener)
      unlink(path)
    }
    var items: [pollfd] = []
    while !shouldStop() {
      let now = ProcessInfo.processInfo.systemUptime
      dropExpired(now: now)
      items.removeAll(keepingCapacity: true)
      let listening = now >= acceptPausedUntil
      items.append(pollfd(fd: listening ? listener : -1, events: Int16(POLLIN), revents: 0))
      for connection in connections {
        let wantsInput = connection.draining || (!connection.replied && mayRead(connection))
        let events = (wantsInput ? POLLIN : 0) | (connection.written < connection.reply.count ? POLLOUT : 0)
        items.append(pollfd(fd: connection.fd, events: Int16(events), revents: 0))
      }
      let nearest = connections.map(\.deadline).min().map { max(0, $0 - now) } ?? 0.2
      guard poll(&items, nfds_t(items.count), Int32(min(0.2, nearest) * 1000) + 1) > 0 else { continue }
      // Connections first (the indices match `items` from 1), then new ones.
      var finished: [Int] = []
      for (index, connection) in connections.enumerated() where items[index + 1].revents != 0 {
        if !serve(connection, events: items[index + 1].revents) { finished.append(index) }
      }
      for index in finished.reversed() { closeConnection(at: index) }
      if items[0].revents & Int16(POLLIN) != 0 { acceptAll(now: ProcessInfo.processInfo.systemUptime) }
    }
  }

  private func mayRead(_ c: Connection) -> Bool {
    c.request.count < ControlServer.largeRequest || held < ControlServer.heldLimit
  }

  private func acceptAll(now: Double) {
    while true {
      // `accept4` is not exported by Glibc's module map here; two fcntl calls instead.
      let client = accept(listener, nil, nil)
      guard client >= 0 else {
        if errno == EMFILE || errno == ENFILE {
          acceptPausedUntil = now + 0.1
          RateLimitedLog.shared.note(
            "control_accept", logger, "control socket: out of file descriptors, new clients wait")
        }
        return
      }
      _ = fcntl(client, F_SETFD, FD_CLOEXEC)
      _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
      counters.accepted.add(1)
      if connections.count - refusedOpen >= maxConnections {
        counters.refused.add(1)
        guard refusedOpen < ControlServer.refusedKept else {
          close(client)
          continue
        }
        let c = Connection(fd: client, deadline: now + ControlServer.refusalTimeout)
        c.refused = true
        reply(c, .failure("too many control connections (\(maxConnections) open, control.max_connections); try again"))
        connections.append(c)
        refusedOpen += 1
        _ = write(c)
        continue
      }
      connections.append(Connection(fd: client, deadline: now + ControlServer.clientTimeout))
      counters.open.store(connections.count - refusedOpen, ordering: .relaxed)
    }
  }

  /// Reads, answers or writes what the socket allows; false when the connection is done.
  private func serve(_ c: Connection, events: Int16) -> Bool {
    if events & Int16(POLLIN | POLLHUP | POLLERR) != 0, c.draining || !c.replied {
      let n = readBuffer.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress, $0.count, 0) }
      if n < 0 { return errno == EAGAIN || errno == EINTR }
      if c.draining { return n > 0 }
      if n == 0 {
        // EOF: what came is the request (a client may omit the newline), or nothing to answer.
        if c.request.isEmpty { return false }
        answer(c, line: c.request)
      } else {
        // Only the new bytes are searched: rescanning a long request at every read would make
        // reading it quadratic.
        let newline = readBuffer[0..<n].firstIndex(of: 0x0A).map { c.request.count + $0 }
        c.request.append(contentsOf: readBuffer[0..<n])
        held += n
        if let newline {
          answer(c, line: Array(c.request[..<newline]))
        } else if c.request.count > ControlRequest.maxLength {
          counters.oversized.add(1)
          reply(c, .failure("request longer than \(ControlRequest.maxLength) bytes"))
        }
      }
    } else if events & Int16(POLLHUP | POLLERR) != 0, c.written < c.reply.count {
      return false
    }
    return write(c)
  }

  private func answer(_ c: Connection, line: [UInt8]) {
    guard line.count <= ControlRequest.maxLength else {
      counters.oversized.add(1)
      return reply(c, .failure("request longer than \(ControlRequest.maxLength) bytes"))
    }
    guard let text = String(validating: line, as: UTF8.self) else {
      return reply(c, .failure("request is not valid UTF-8"))
    }
    do {
      reply(c, handler(try ControlRequest.parse(text)))
    } catch {
      reply(c, .failure(error.message))
    }
  }

  private func reply(_ c: Connection, _ reply: ControlReply) {
    held -= c.request.count
    c.request = []
    c.reply = Array(reply.encoded.utf8)
  }

  /// Writes what the socket takes; once all is written, shuts the write side and drains.
  private func write(_ c: Connection) -> Bool {
    while c.written < c.reply.count {
      let n = c.reply.withUnsafeBytes {
        send(c.fd, $0.baseAddress! + c.written, $0.count - c.written, Int32(MSG_NOSIGNAL))
      }
      if n < 0 { return errno == EAGAIN || errno == EINTR }
      c.written += n
    }
    if !c.reply.isEmpty, !c.draining {
      shutdown(c.fd, Int32(SHUT_WR))
      c.draining = true
    }
    return true
  }

  private func dropExpired(now: Double) {
    for index in connections.indices.reversed() where connections[index].deadline <= now {
      // A connection whose reply is written and that is only being drained is done, not late.
      if !connections[index].draining, !connections[index].refused { counters.timedOut.add(1) }
      closeConnection(at: index)
    }
  }

  private func closeConnection(at index: Int) {
    let c = connections.remove(at: index)
    held -= c.request.count
    if c.refused { refusedOpen -= 1 }
    close(c.fd)
    counters.open.store(connections.count - refusedOpen, ordering: .relaxed)
  }
}
