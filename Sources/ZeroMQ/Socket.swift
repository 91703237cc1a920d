import CZeroMQ

#if canImport(Glibc)
  import Glibc
#endif

/// The socket types this project uses.
public enum SocketType: Sendable {
  case pub, sub, xpub, rep

  var raw: Int32 {
    switch self {
    case .pub: ZMQ_PUB
    case .sub: ZMQ_SUB
    case .xpub: ZMQ_XPUB
    case .rep: ZMQ_REP
    }
  }
}

/// One libzmq socket. Not Sendable: a socket is created, used and closed by one thread.
public final class Socket {
  let handle: UnsafeMutableRawPointer
  private var closed = false

  /// Creates a socket with linger 0, so that closing never blocks on unsent messages unless
  /// the caller asks for a linger period.
  public init(_ context: Context, _ type: SocketType) throws(ZMQError) {
    guard let handle = zmq_socket(context.handle, type.raw) else { throw ZMQError("zmq_socket") }
    self.handle = handle
    try setOption(ZMQ_LINGER, Int32(0))
  }

  deinit {
    close()
  }

  public func close() {
    guard !closed else { return }
    closed = true
    zmq_close(handle)
  }

  public func setOption(_ option: Int32, _ value: Int32) throws(ZMQError) {
    var v = value
    guard zmq_setsockopt(handle, option, &v, MemoryLayout<Int32>.size) == 0 else {
      throw ZMQError("zmq_setsockopt(\(option))")
    }
  }

  public func setOption(_ option: Int32, _ value: Int64) throws(ZMQError) {
    var v = value
    guard zmq_setsockopt(handle, option, &v, MemoryLayout<Int64>.size) == 0 else {
      throw ZMQError("zmq_setsockopt(\(option))")
    }
  }

  public func setOption(_ option: Int32, bytes: [UInt8]) throws(ZMQError) {
    let result = bytes.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, $0.count) }
    guard result == 0 else { throw ZMQError("zmq_setsockopt(\(option))") }
  }

  public func linger(milliseconds: Int32) throws(ZMQError) { try setOption(ZMQ_LINGER, milliseconds) }
  public func sendHighWaterMark(_ n: Int32) throws(ZMQError) { try setOption(ZMQ_SNDHWM, n) }
  public func receiveHighWaterMark(_ n: Int32) throws(ZMQError) { try setOption(ZMQ_RCVHWM, n) }
  public func maxMessageSize(_ bytes: Int64) throws(ZMQError) { try setOption(ZMQ_MAXMSGSIZE, bytes) }
  public func subscribe(_ prefix: [UInt8]) throws(ZMQError) { try setOption(ZMQ_SUBSCRIBE, bytes: prefix) }

  public func bind(_ endpoint: String) throws(ZMQError) {
    guard zmq_bind(handle, endpoint) == 0 else { throw ZMQError("bind \(endpoint)") }
  }

  public func connect(_ endpoint: String) throws(ZMQError) {
    guard zmq_connect(handle, endpoint) == 0 else { throw ZMQError("connect \(endpoint)") }
  }

  /// The endpoint actually bound (resolves `tcp://127.0.0.1:*` to its port).
  public func lastEndpoint() throws(ZMQError) -> String {
    var buffer = [CChar](repeating: 0, count: 1024)
    var size = buffer.count
    guard zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size) == 0 else {
      throw ZMQError("zmq_getsockopt(LAST_ENDPOINT)")
    }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// Sends one frame. Returns false when the call would block (`wait: false`) or the socket's
  /// high-water mark refuses it; throws on real errors.
  @discardableResult
  public func send(_ bytes: UnsafeRawBufferPointer, more: Bool = false, wait: Bool = true)
    throws(ZMQError) -> Bool
  {
    var flags: Int32 = more ? ZMQ_SNDMORE : 0
    if !wait { flags |= ZMQ_DONTWAIT }
    while true {
      if zmq_send(handle, bytes.baseAddress, bytes.count, flags) >= 0 { return true }
      let code = zmq_errno()
      if code == EINTR { continue }
      if code == EAGAIN { return false }
      throw ZMQError("zmq_send", code: code)
    }
  }

  @discardableResult
  public func send(_ bytes: [UInt8], more: Bool = false, wait: Bool = true) throws(ZMQError) -> Bool {
    let result: Result<Bool, ZMQError> = bytes.withUnsafeBytes { raw in
      Result { () throws(ZMQError) in try send(raw, more: more, wait: wait) }
    }
    return try result.get()
  }

  /// Receives one frame into `frame`. Returns false when nothing is waiting (`wait: false`).
  public func receive(into frame: Frame, wait: Bool = true) throws(ZMQError) -> Bool {
    let flags: Int32 = wait ? 0 : ZMQ_DONTWAIT
    while true {
      if zmq_msg_recv(frame.message, handle, flags) >= 0 { return true }
      let code = zmq_errno()
      if code == EINTR { continue }
      if code == EAGAIN { return false }
      throw ZMQError("zmq_msg_recv", code: code)
    }
  }

}

/// A reusable received frame (a heap-allocated zmq_msg_t, so its address is stable while
/// libzmq owns it). Its bytes are valid until the next receive into it.
public final class Frame {
  let message: UnsafeMutablePointer<zmq_msg_t>

  public init() {
    message = .allocate(capacity: 1)
    zmq_msg_init(message)
  }

  deinit {
    zmq_msg_close(message)
    message.deallocate()
  }

  public var bytes: UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(start: zmq_msg_data(message), count: zmq_msg_size(message))
  }

  /// Whether more frames of the same multipart message follow.
  public var hasMore: Bool { zmq_msg_more(message) != 0 }

  public var array: [UInt8] { Array(bytes) }
}

/// Option names re-exported so callers need not import CZeroMQ.
public enum SocketOption {
  public static let xpubNoDrop = ZMQ_XPUB_NODROP
  public static let pollIn = Int16(ZMQ_POLLIN)
  public static let pollOut = Int16(ZMQ_POLLOUT)
}
