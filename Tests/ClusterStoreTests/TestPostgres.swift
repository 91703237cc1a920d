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

  /// Runs a command to its end with `posix_spawn` and `waitpid`. Not Foundation's `Process`:
  /// its exit detection hangs when the command leaves a daemon behind (`pg_ctl start` leaves the
  /// server), since the daemon inherits what `Process` waits on. Output goes to a file.
  private static func run(_ arguments: [String], as prefix: [String]) throws {
    let command = prefix + arguments
    let log = FileManager.default.temporaryDirectory.appendingPathComponent("pg-run-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: log) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    var argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, command[0], &actions, nil, &argv, environ)
    guard spawned == 0 else {
      throw NSError(
        domain: "TestPostgres", code: Int(spawned),
        userInfo: [NSLocalizedDescriptionKey: "cannot start \(command[0]): \(String(cString: strerror(spawned)))"])
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    // WIFEXITED and WEXITSTATUS are macros Swift does not import: exited when the low 7 bits
    // are 0, with the code in the next 8.
    guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
      throw NSError(
        domain: "TestPostgres", code: Int(status),
        userInfo: [NSLocalizedDescriptionKey: "\(command.joined(separator: " ")) failed (status \(status)): \(text)"])
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
