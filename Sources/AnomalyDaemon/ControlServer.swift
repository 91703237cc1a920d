import ControlProtocol
import Foundation
import Logging

#if canImport(Glibc)
  import Glibc
#endif

/// The control thread: answers one request per connection on the Unix socket.
///
/// Authority is the socket file's permissions (mode 0660 by default): whoever can connect may
/// reset streams and reload. Nothing mutating is reachable over any network endpoint. A client
/// that stalls or disconnects mid-request only costs its own connection (2 s timeouts).
final class ControlServer {
  let path: String
  private let listener: Int32
  private let handler: @Sendable (ControlRequest) -> ControlReply
  private let logger: Logger

  init(
    path: String, mode: UInt32, group: gid_t?, logger: Logger,
    handler: @escaping @Sendable (ControlRequest) -> ControlReply
  ) throws(SystemError) {
    self.path = path
    self.handler = handler
    self.logger = logger
    listener = try UnixSocket.listen(path, mode: mode, group: group)
  }

  func run(shouldStop: @Sendable () -> Bool) {
    defer {
      close(listener)
      unlink(path)
    }
    var pollItem = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
    while !shouldStop() {
      let ready = poll(&pollItem, 1, 200)
      guard ready > 0 else { continue }
      let client = accept(listener, nil, nil)
      guard client >= 0 else { continue }
      _ = fcntl(client, F_SETFD, FD_CLOEXEC)
      serve(client)
      close(client)
    }
  }

  private func serve(_ client: Int32) {
    UnixSocket.setTimeouts(client, seconds: 2)
    guard let line = UnixSocket.readLine(client, limit: ControlRequest.maxLength) else { return }
    let reply: ControlReply
    if line.count > ControlRequest.maxLength {
      reply = .failure("request longer than \(ControlRequest.maxLength) bytes")
    } else if let text = String(validating: line, as: UTF8.self) {
      do {
        reply = handler(try ControlRequest.parse(text))
      } catch {
        reply = .failure(error.message)
      }
    } else {
      reply = .failure("request is not valid UTF-8")
    }
    _ = UnixSocket.writeAll(client, Array(reply.encoded.utf8))
  }
}
