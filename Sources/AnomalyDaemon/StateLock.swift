import Foundation

/// The state directory's owner: an exclusive `flock` on `state.lock` beside `state.sqlite`,
/// held for the daemon's life.
///
/// Two daemons on one state file would both checkpoint the same streams into it, the last
/// writer winning, silently (a template unit or a copied config that shares a
/// `StateDirectory` does this). The lock is taken before anything binds, so the second
/// daemon exits with a message naming the file and the holder's pid and touches nothing.
///
/// `flock`, not `fcntl` record locks: a record lock is dropped when any descriptor of the file
/// closes in the process (SQLite's own files are separate, but a lookup that opened
/// `state.lock` would end it). The kernel releases the lock when the process dies, even by
/// SIGKILL, so a restart after a crash never finds a stale lock. The descriptor is
/// close-on-exec, so a child does not inherit it. The pid written into the file is only for
/// the message; the lock is what counts.
final class StateLock: Sendable {
  let path: String
  private let descriptor: Int32

  /// Why the lock could not be taken.
  enum Failure: Error, CustomStringConvertible {
    /// Another process holds it: the daemon must not start.
    case held(path: String, holder: Int32?)
    /// The file cannot be opened or locked at all (a read-only or missing directory): the
    /// caller treats this like any other unusable state directory.
    case unusable(path: String, reason: String)

    var description: String {
      switch self {
      case .held(let path, let holder):
        let who = holder.map { "another anomalyd (pid \($0))" } ?? "another process"
        let directory = String(path.dropLast("/state.lock".count))
        return "\(directory)/state.sqlite is in use by \(who), which holds the lock \(path); "
          + "give each daemon its own server.state_directory"
      case .unusable(let path, let reason): return "cannot lock \(path): \(reason)"
      }
    }
  }

  init(directory: String) throws(Failure) {
    path = directory + "/state.lock"
    let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw .unusable(path: path, reason: String(cString: strerror(errno))) }
    guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
      let error = errno
      let holder = StateLock.readPid(fd)
      close(fd)
      if error == EWOULDBLOCK { throw .held(path: path, holder: holder) }
      throw .unusable(path: path, reason: String(cString: strerror(error)))
    }
    descriptor = fd
    let pid = Array("\(getpid())\n".utf8)
    // The pid is a courtesy for the message above; failing to write it changes nothing.
    if ftruncate(fd, 0) == 0 { _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } }
  }

  deinit { close(descriptor) }

  private static func readPid(_ fd: Int32) -> Int32? {
    var buffer = [UInt8](repeating: 0, count: 32)
    let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
    guard count > 0 else { return nil }
    return Int32(String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
  }
}
