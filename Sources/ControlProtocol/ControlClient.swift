#if canImport(Glibc)
  import Glibc
#endif

/// The client side of the control protocol: one request, one reply, one connection.
public enum ControlClient {
  public static func send(_ request: ControlRequest, to path: String, timeoutSeconds: Int = 5)
    throws(SystemError) -> ControlReply
  {
    let fd = try UnixSocket.connect(path)
    defer { _ = close(fd) }
    UnixSocket.setTimeouts(fd, seconds: timeoutSeconds)
    guard UnixSocket.writeAll(fd, Array((request.line + "\n").utf8)) else { throw SystemError("write \(path)") }
    guard let bytes = UnixSocket.readAll(fd) else { throw SystemError("read \(path)") }
    return ControlReply.decode(String(decoding: bytes, as: UTF8.self))
  }
}
