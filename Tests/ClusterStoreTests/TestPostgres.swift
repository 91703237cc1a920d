import Foundation
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// A real PostgreSQL server from Debian's `postgresql` package, started for a test in a temporary
/// directory on a free loopback port and stopped afterwards. As root (CI), the server runs as
/// the `postgres` user, since PostgreSQL refuses to run as root.
final class TestPostgres {
  let port: Int
  let directory: String
  private let runAs: [String]
  private let bin: String

  var url: String { "postgres://anomalyd@127.0.0.1:\(port)/postgres" }

  /// Starts a server; skips the test when PostgreSQL is not installed, unless
  /// `ANOMALYD_REQUIRE_SERVERS=1` (tools/test) makes that a failure.
  init() throws {
    guard let bin = Self.binDirectory() else {
      if ProcessInfo.processInfo.environment["ANOMALYD_REQUIRE_SERVERS"] == "1" {
        XCTFail("PostgreSQL is not installed (apt-get install postgresql); ANOMALYD_REQUIRE_SERVERS=1")
      }
      throw XCTSkip("PostgreSQL is not installed (apt-get install postgresql)")
    }
    self.bin = bin
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("pg-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    runAs = getuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--"] : []
    if getuid() == 0 { try Self.run(["/bin/chown", "postgres", directory], as: []) }
    port = try Self.freePort()
    try Self.run([bin + "/initdb", "-D", directory + "/data", "-A", "trust", "-U", "anomalyd", "--no-sync"], as: runAs)
    try Self.run(
      [
        bin + "/pg_ctl", "-D", directory + "/data", "-l", directory + "/log", "-w", "-o",
        "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c fsync=off", "start",
      ], as: runAs)
  }

  deinit {
    try? Self.run([bin + "/pg_ctl", "-D", directory + "/data", "-m", "immediate", "-w", "stop"], as: runAs)
    try? FileManager.default.removeItem(atPath: directory)
  }

  private static func binDirectory() -> String? {
    let root = "/usr/lib/postgresql"
    let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
    for version in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) })
    where FileManager.default.isExecutableFile(atPath: "\(root)/\(version)/bin/initdb") {
      return "\(root)/\(version)/bin"
    }
    return nil
  }

  private static func run(_ arguments: [String], as prefix: [String]) throws {
    let process = Process()
    let command = prefix + arguments
    process.executableURL = URL(fileURLWithPath: command[0])
    process.arguments = Array(command.dropFirst())
    // A file, not a pipe: the server that `pg_ctl start` leaves running inherits the descriptor,
    // and a pipe would never reach its end.
    let log = FileManager.default.temporaryDirectory.appendingPathComponent("pg-run-\(UUID().uuidString)")
    _ = FileManager.default.createFile(atPath: log.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: log) }
    let handle = try FileHandle(forWritingTo: log)
    defer { try? handle.close() }
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
    process.waitUntilExit()
    let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
    guard process.terminationStatus == 0 else {
      throw NSError(
        domain: "TestPostgres", code: Int(process.terminationStatus),
        userInfo: [NSLocalizedDescriptionKey: "\(command.joined(separator: " ")) failed: \(text)"])
    }
  }

  /// A port the kernel says is free now (bound to port 0, read back, closed).
  private static func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
        bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
      }
    }
    guard bound else { throw NSError(domain: "TestPostgres", code: 1) }
    return Int(UInt16(bigEndian: address.sin_port))
  }
}
