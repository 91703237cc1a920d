#if canImport(Glibc)
  import Glibc
#endif

/// Failure of a system call, with the errno it left.
public struct SystemError: Error, CustomStringConvertible, Sendable {
  public let operation: String
  public let code: Int32

  public init(_ operation: String, code: Int32 = errno) {
    self.operation = operation
    self.code = code
  }

  public var description: String { "\(operation): \(String(cString: strerror(code)))" }
}

/// Small wrappers over the Unix-domain socket calls the control server and client need.
public enum UnixSocket {
  /// Fills a `sockaddr_un` for `path`, or throws when the path does not fit.
  public static func address(_ path: String) throws(SystemError) -> sockaddr_un {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    let capacity = MemoryLayout.size(ofValue: address.sun_path)
    guard bytes.count < capacity else {
      throw SystemError("socket path longer than \(capacity - 1) bytes: \(path)", code: ENAMETOOLONG)
    }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
      raw.copyBytes(from: bytes)
      raw[bytes.count] = 0
    }
    return address
  }

  public static func connect(_ path: String) throws(SystemError) -> Int32 {
    var address = try address(path)
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw SystemError("socket") }
    let result = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
      }
    }
    guard result == 0 else {
      let code = errno
      close(fd)
      throw SystemError("connect \(path)", code: code)
    }
    return fd
  }

  /// Binds and listens on `path` with permissions `mode` and, if given, group `group`,
  /// replacing a stale socket file but refusing to steal one a running daemon still answers
  /// on. The file is created with no access and opened up only after both are set.
  public static func listen(_ path: String, mode: UInt32, group: gid_t? = nil) throws(SystemError) -> Int32 {
    var address = try address(path)
    let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? ""
    if !directory.isEmpty && access(directory, F_OK) != 0 {
      guard mkdir(directory, 0o755) == 0 || errno == EEXIST else { throw SystemError("mkdir \(directory)") }
    }
    if access(path, F_OK) == 0 {
      if let fd = try? connect(path) {
        close(fd)
        throw SystemError("another daemon is listening on \(path)", code: EADDRINUSE)
      }
      unlink(path)
    }
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw SystemError("socket") }
    // Create the file with no access, then open it up to `mode`: no window where it is wider.
    let previousMask = umask(0o777)
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
      }
    }
    umask(previousMask)
    guard bound == 0 else {
      let code = errno
      close(fd)
      throw SystemError("bind \(path)", code: code)
    }
    if let group, chown(path, uid_t.max, group) != 0 {
      let code = errno
      close(fd)
      unlink(path)
      throw SystemError("chown \(path) to group \(group)", code: code)
    }
    guard chmod(path, mode_t(mode)) == 0, Glibc.listen(fd, 64) == 0 else {
      let code = errno
      close(fd)
      throw SystemError("listen \(path)", code: code)
    }
    return fd
  }

  public static func setTimeouts(_ fd: Int32, seconds: Int) {
    var timeout = timeval(tv_sec: seconds, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
  }

  /// Reads until a newline, EOF or `limit` bytes. Returns nil on error/timeout.
  public static func readLine(_ fd: Int32, limit: Int) -> [UInt8]? {
    var data: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 1024)
    while data.count <= limit {
      let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n < 0 {
        if errno == EINTR { continue }
        return nil
      }
      if n == 0 { break }
      data.append(contentsOf: buffer[0..<n])
      if let newline = data.firstIndex(of: 0x0A) { return Array(data[...newline]) }
    }
    return data
  }

  /// Reads everything until EOF.
  public static func readAll(_ fd: Int32) -> [UInt8]? {
    var data: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
      let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n < 0 {
        if errno == EINTR { continue }
        return nil
      }
      if n == 0 { return data }
      data.append(contentsOf: buffer[0..<n])
    }
  }

  /// Writes all bytes; false if the peer went away or timed out.
  public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    var offset = 0
    while offset < bytes.count {
      let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
      if n < 0 {
        if errno == EINTR { continue }
        return false
      }
      offset += n
    }
    return true
  }
}
