import ArgumentParser
import DaemonConfig
import ZeroMQ

#if canImport(Glibc)
  import Glibc
#endif

/// `anomalyctl keygen`: CURVE key pairs for the daemon and its clients.
struct Keygen: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Generate a CURVE key pair (for security.curve_key_file, or for a client).",
    discussion: """
      With --output PREFIX writes PREFIX.key (both keys, mode 0600: keep it private) and \
      PREFIX.pub (the public key, to give to peers). Without it prints the key pair.
      """)

  @Option(name: .shortAndLong, help: "File name prefix for PREFIX.key and PREFIX.pub.")
  var output: String?

  func run() throws {
    guard Curve.isAvailable else {
      printError("anomalyctl keygen: this libzmq was built without CURVE support")
      throw ExitCode(1)
    }
    let (publicKey, secretKey) = try Curve.keypair()
    let pair = CurveKeyPair(publicKey: publicKey, secretKey: secretKey)
    guard let output else {
      print(pair.fileText, terminator: "")
      return
    }
    try writeFile(output + ".key", pair.fileText, mode: 0o600)
    try writeFile(output + ".pub", CurveKeyPair(publicKey: publicKey, secretKey: nil).fileText, mode: 0o644)
    printError("wrote \(output).key (private) and \(output).pub; public key \(publicKey)")
  }

  private func writeFile(_ path: String, _ text: String, mode: mode_t) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
    guard fd >= 0 else {
      printError(
        "anomalyctl keygen: cannot create \(path): \(String(cString: strerror(errno))) (it is never overwritten)")
      throw ExitCode(1)
    }
    defer { close(fd) }
    let writer = OutputBuffer(fileDescriptor: fd)
    writer.write(text)
    guard writer.flush() else { throw ExitCode(1) }
  }
}

/// CURVE options for the commands that talk ZeroMQ to the daemon.
struct CurveOptions: ParsableArguments {
  @Option(help: ArgumentHelp("The daemon's CURVE public key, or its .pub file: turns CURVE on.", valueName: "key|file"))
  var curveServer: String?

  @Option(help: ArgumentHelp("This client's key pair file (default: a fresh key pair).", valueName: "file"))
  var curveKey: String?

  func apply(to socket: Socket) throws {
    guard let curveServer else { return }
    let serverKey: String
    if CurveKeyPair.isZ85Key(curveServer) {
      serverKey = curveServer
    } else {
      serverKey = try CurveKeyPair.load(path: curveServer, needSecret: false).publicKey
    }
    let own: (String, String)
    if let curveKey {
      let pair = try CurveKeyPair.load(path: curveKey, needSecret: true)
      own = (pair.publicKey, pair.secretKey!)
    } else {
      own = try Curve.keypair()
    }
    try socket.makeCurveClient(serverPublic: serverKey, publicKey: own.0, secretKey: own.1)
  }
}
