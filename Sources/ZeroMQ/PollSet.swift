import CZeroMQ

#if canImport(Glibc)
  import Glibc
#endif

/// A set of sockets and plain file descriptors to wait on together with `zmq_poll`.
/// Like its sockets, a poll set belongs to one thread.
public struct PollSet {
  private var items: [zmq_pollitem_t] = []

  public init() {}

  /// Adds a socket waiting for input; returns its index.
  @discardableResult
  public mutating func add(_ socket: Socket, events: Int16 = SocketOption.pollIn) -> Int {
    items.append(zmq_pollitem_t(socket: socket.handle, fd: -1, events: events, revents: 0))
    return items.count - 1
  }

  /// Adds a file descriptor (an eventfd, a listening socket) waiting for input.
  @discardableResult
  public mutating func add(fileDescriptor: Int32, events: Int16 = SocketOption.pollIn) -> Int {
    items.append(zmq_pollitem_t(socket: nil, fd: fileDescriptor, events: events, revents: 0))
    return items.count - 1
  }

  /// Waits until an item is ready or the timeout passes (−1: forever). Returns how many are
  /// ready; 0 on timeout or when a signal interrupted the wait.
  public mutating func poll(timeoutMilliseconds: Int) throws(ZMQError) -> Int {
    let result = items.withUnsafeMutableBufferPointer {
      zmq_poll($0.baseAddress, Int32($0.count), timeoutMilliseconds)
    }
    if result >= 0 { return Int(result) }
    let code = zmq_errno()
    if code == EINTR { return 0 }
    throw ZMQError("zmq_poll", code: code)
  }
}
