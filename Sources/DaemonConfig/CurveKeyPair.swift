import TOMLKit

#if canImport(Glibc)
  import Glibc
#endif

/// A CURVE key pair as `anomalyctl keygen` writes it: a small TOML file
///
///     # anomalyd CURVE key pair. Keep the secret key private (mode 0600).
///     public = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
///     secret = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
///
/// A file with only `public` is what a peer needs to know of us.
public struct CurveKeyPair: Sendable, Equatable {
  public var publicKey: String
  public var secretKey: String?

  public init(publicKey: String, secretKey: String?) {
    self.publicKey = publicKey
    self.secretKey = secretKey
  }

  public var fileText: String {
    var text = "# anomalyd CURVE key pair (anomalyctl keygen).\n"
    if let secretKey {
      text +=
        "# Keep this file private: it holds the secret key.\npublic = \"\(publicKey)\"\nsecret = \"\(secretKey)\"\n"
    } else {
      text += "public = \"\(publicKey)\"\n"
    }
    return text
  }

  /// Reads and checks a key file; `needSecret` for our own key pair.
  public static func load(path: String, needSecret: Bool) throws(ConfigError) -> CurveKeyPair {
    guard let text = readTextFile(path) else {
      throw ConfigError(key: "security.curve_key_file", value: path, reason: "cannot read the key file")
    }
    guard let table = try? TOMLTable(string: text), let publicKey = table["public"]?.string else {
      throw ConfigError(key: "security.curve_key_file", value: path, reason: "not a key file (no public = \"…\")")
    }
    let secretKey = table["secret"]?.string
    guard isZ85Key(publicKey), secretKey.map(isZ85Key) ?? true else {
      throw ConfigError(key: "security.curve_key_file", value: path, reason: "keys must be 40 characters of Z85")
    }
    if needSecret && secretKey == nil {
      throw ConfigError(key: "security.curve_key_file", value: path, reason: "has no secret key")
    }
    return CurveKeyPair(publicKey: publicKey, secretKey: secretKey)
  }

  public static func isZ85Key(_ key: String) -> Bool {
    let alphabet = Set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#")
    return key.count == 40 && key.allSatisfy { alphabet.contains($0) }
  }
}

/// The whole contents of a (small) text file, or nil.
func readTextFile(_ path: String, limit: Int = 1 << 20) -> String? {
  let fd = open(path, O_RDONLY | O_CLOEXEC)
  guard fd >= 0 else { return nil }
  defer { close(fd) }
  var bytes: [UInt8] = []
  var buffer = [UInt8](repeating: 0, count: 4096)
  while bytes.count <= limit {
    let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    if n < 0 && errno == EINTR { continue }
    if n <= 0 { break }
    bytes.append(contentsOf: buffer[0..<n])
  }
  return String(validating: bytes, as: UTF8.self)
}
