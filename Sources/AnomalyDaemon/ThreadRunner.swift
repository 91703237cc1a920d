import Foundation
import Synchronization

/// Starts a named thread and lets the caller wait for it to finish.
final class ThreadHandle: Sendable {
  private let finished = DispatchSemaphore(value: 0)

  /// `name` is what `top -H`, `ps -L` and the journal's stack traces show; the kernel keeps
  /// 15 bytes of it, so keep it short ("worker-0", "ingest").
  init(name: String, _ body: @escaping @Sendable () -> Void) {
    let finished = self.finished
    let thread = Thread {
      ThreadHandle.setKernelName(name)
      body()
      finished.signal()
    }
    thread.name = name
    thread.start()
  }

  /// pthread_setname_np is not visible from Swift's Glibc module; /proc takes the same name.
  private static func setKernelName(_ name: String) {
    let fd = open("/proc/thread-self/comm", O_WRONLY)
    guard fd >= 0 else { return }
    let bytes = Array(name.utf8.prefix(15))
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
  }

  func join() {
    finished.wait()
  }
}

/// The outcome of a thread's start-up (binding its sockets), reported to the thread that
/// started it so that a bad endpoint fails `anomalyd` before it says it is ready.
final class StartupSignal: Sendable {
  private let result = Mutex<String??>(nil)
  private let ready = DispatchSemaphore(value: 0)

  /// Reports success (`error == nil`) or the reason start-up failed.
  func report(error: String?) {
    result.withLock { $0 = .some(error) }
    ready.signal()
  }

  /// Waits for the report; returns the error, if any.
  func wait() -> String? {
    ready.wait()
    return result.withLock { $0 ?? nil }
  }
}

/// A stop request that several threads poll.
final class StopFlag: Sendable {
  private let flag = Atomic<Bool>(false)
  func set() { flag.store(true, ordering: .releasing) }
  var isSet: Bool { flag.load(ordering: .acquiring) }
}
