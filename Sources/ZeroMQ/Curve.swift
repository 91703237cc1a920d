import CZeroMQ

/// ZeroMQ's CURVE security (CurveZMQ: Curve25519 key exchange, authenticated encryption).
/// Keys travel as 40-character Z85 text.
public enum Curve {
  /// Whether the system libzmq was built with CURVE support (libsodium).
  public static var isAvailable: Bool { zmq_has("curve") != 0 }

  /// A fresh key pair, as Z85 text.
  public static func keypair() throws(ZMQError) -> (publicKey: String, secretKey: String) {
    var publicKey = [CChar](repeating: 0, count: 41)
    var secretKey = [CChar](repeating: 0, count: 41)
    guard zmq_curve_keypair(&publicKey, &secretKey) == 0 else { throw ZMQError("zmq_curve_keypair") }
    return (z85String(publicKey), z85String(secretKey))
  }

  /// The public key that belongs to a secret key.
  public static func publicKey(forSecret secret: String) throws(ZMQError) -> String {
    var publicKey = [CChar](repeating: 0, count: 41)
    guard zmq_curve_public(&publicKey, secret) == 0 else { throw ZMQError("zmq_curve_public") }
    return z85String(publicKey)
  }

  /// Z85 text of a raw 32-byte key (as ZAP requests carry them).
  public static func z85(_ raw: UnsafeRawBufferPointer) -> String? {
    guard raw.count == 32 else { return nil }
    var text = [CChar](repeating: 0, count: 41)
    guard zmq_z85_encode(&text, raw.bindMemory(to: UInt8.self).baseAddress, 32) != nil else { return nil }
    return z85String(text)
  }

  private static func z85String(_ chars: [CChar]) -> String {
    String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }
}

extension Socket {
  /// Makes this socket a CURVE server: peers must know `serverPublic` and hold a key pair,
  /// and ZAP (if a handler runs) decides which client keys are accepted.
  public func makeCurveServer(secretKey: String, domain: String) throws(ZMQError) {
    try setOption(ZMQ_CURVE_SERVER, Int32(1))
    try setOption(ZMQ_CURVE_SECRETKEY, bytes: Array(secretKey.utf8))
    try setOption(ZMQ_ZAP_DOMAIN, bytes: Array(domain.utf8))
  }

  /// Makes this socket a CURVE client of the server with `serverPublic`.
  public func makeCurveClient(serverPublic: String, publicKey: String, secretKey: String) throws(ZMQError) {
    try setOption(ZMQ_CURVE_SERVERKEY, bytes: Array(serverPublic.utf8))
    try setOption(ZMQ_CURVE_PUBLICKEY, bytes: Array(publicKey.utf8))
    try setOption(ZMQ_CURVE_SECRETKEY, bytes: Array(secretKey.utf8))
  }
}
