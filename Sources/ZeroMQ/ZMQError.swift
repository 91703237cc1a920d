import CZeroMQ

/// A failed libzmq call: which call, and the errno it left.
public struct ZMQError: Error, CustomStringConvertible, Sendable {
  public let operation: String
  public let code: Int32

  init(_ operation: String, code: Int32 = zmq_errno()) {
    self.operation = operation
    self.code = code
  }

  public var description: String {
    "\(operation): \(String(cString: zmq_strerror(code)))"
  }

  /// The context was terminated: the owning thread should close its socket and return.
  public var isTerminated: Bool { code == ETERM }
}
