import CZeroMQ

/// A libzmq context: one per process. The context itself is thread-safe; sockets are not.
public final class Context: @unchecked Sendable {
  // libzmq documents contexts as thread-safe, hence the unchecked Sendable.
  nonisolated(unsafe) let handle: UnsafeMutableRawPointer

  public init(ioThreads: Int32 = 1) throws(ZMQError) {
    guard let handle = zmq_ctx_new() else { throw ZMQError("zmq_ctx_new") }
    zmq_ctx_set(handle, ZMQ_IO_THREADS, ioThreads)
    self.handle = handle
  }

  /// Makes blocking calls on every socket of this context fail with ETERM, so their threads
  /// can notice and exit. Sockets must still be closed by their own threads.
  public func shutdown() {
    zmq_ctx_shutdown(handle)
  }

  deinit {
    // Every socket has linger 0 or a bound (see Socket.init), so this cannot hang forever.
    while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
  }

  /// The libzmq version, for `info server`.
  public static var version: String {
    var major: Int32 = 0
    var minor: Int32 = 0
    var patch: Int32 = 0
    zmq_version(&major, &minor, &patch)
    return "\(major).\(minor).\(patch)"
  }
}
