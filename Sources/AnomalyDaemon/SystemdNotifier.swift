import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Sends sd_notify messages (READY=1, STATUS=…, WATCHDOG=1, RELOADING=1, STOPPING=1) as
/// datagrams to `$NOTIFY_SOCKET`, without libsystemd. A no-op when not started by systemd.
public struct SystemdNotifier: Sendable {
  let socketPath: String?
  /// Half the watchdog period systemd asked for, or nil when no watchdog is configured.
  public let watchdogInterval: Double?

  init(environment: [String: String]) {
    socketPath = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
    if let usec = environment["WATCHDOG_USEC"].flatMap(Double.init), usec > 0 {
      watchdogInterval = usec / 2_000_000
    } else {
      watchdogInterval = nil
    }
  }

  @discardableResult
  public func notify(_ state: String) -> Bool {
    guard let socketPath else { return false }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    var path = Array(socketPath.utf8)
    // An abstract socket name starts with '@', which stands for a leading NUL byte.
    if path.first == UInt8(ascii: "@") { path[0] = 0 }
    guard path.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path) }
    let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count)
    let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    let bytes = Array(state.utf8)
    let sent = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { addr in
        bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, addr, length) }
      }
    }
    return sent == bytes.count
  }

  /// `RELOADING=1` needs the monotonic time in microseconds alongside (systemd ≥ 253 checks it).
  func reloading() {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    let usec = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
    notify("RELOADING=1\nMONOTONIC_USEC=\(usec)")
  }
}
