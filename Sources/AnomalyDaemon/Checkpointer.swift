import Foundation
import Logging
import StateStore
import Synchronization

/// Persistence counters, read by `info persistence`.
final class PersistenceCounters: Sendable {
  let restored = Atomic<UInt64>(0)
  let restoreFailures = Atomic<UInt64>(0)
  let checkpoints = Atomic<UInt64>(0)
  let streamsWritten = Atomic<UInt64>(0)
  let failures = Atomic<UInt64>(0)
  let lastCheckpointMs = Atomic<Int64>(0)
  /// Streams in the transaction being written now; 0 between checkpoints. A long checkpoint
  /// of many streams shows here while it runs.
  let writing = Atomic<Int>(0)
  let lastError = Mutex("")
  /// Cluster mode: changes refused because this instance no longer held their partition's
  /// lease (or held it under a later epoch) when they were written.
  let fenced = Atomic<UInt64>(0)
}

/// The checkpoint thread: owns the store's connection (SQLite, or PostgreSQL in cluster mode)
/// and writes the rows workers hand it, one transaction per batch. A failed write (read-only
/// or full disk, an unreachable server) is logged, counted and kept: the rows are retried with
/// the next batch, newer state replacing older, while scoring goes on undisturbed.
final class Checkpointer {
  private let store: any CheckpointBackend
  private let queue: BlockingQueue<[CheckpointChange]>
  private let counters: PersistenceCounters
  private let logger: Logger
  /// Changes not yet written, the latest per stream.
  private var pending: [String: CheckpointChange] = [:]

  init(
    store: any CheckpointBackend, queue: BlockingQueue<[CheckpointChange]>, counters: PersistenceCounters,
    logger: Logger
  ) {
    self.store = store
    self.queue = queue
    self.counters = counters
    self.logger = logger
  }

  func run(shouldStop: @Sendable () -> Bool) {
    while true {
      guard let rows = queue.pop(timeout: 0.1) else {
        if shouldStop() { break }
        continue
      }
      for change in rows { pending[change.id] = change }
      // Take whatever else is already waiting into the same transaction.
      while let more = queue.pop(timeout: 0) {
        for change in more { pending[change.id] = change }
      }
      write()
    }
  }

  private func write() {
    guard !pending.isEmpty else { return }
    let now = Int64(Date().timeIntervalSince1970 * 1000)
    do {
      counters.writing.store(pending.count, ordering: .relaxed)
      defer { counters.writing.store(0, ordering: .relaxed) }
      let (written, fenced) = try store.write(Array(pending.values), nowMs: now)
      counters.fenced.add(UInt64(fenced))
      if fenced > 0 {
        RateLimitedLog.shared.note(
          "fenced_write", logger, "\(fenced) stream states not saved: their partitions' leases are no longer ours")
      }
      counters.checkpoints.add(1)
      counters.streamsWritten.add(UInt64(written))
      counters.lastCheckpointMs.store(now, ordering: .relaxed)
      logger.debug("checkpoint written", metadata: ["streams": "\(pending.count)"])
      pending.removeAll(keepingCapacity: true)
    } catch {
      counters.failures.add(1)
      counters.lastError.withLock { $0 = "\(error)" }
      RateLimitedLog.shared.note(
        "checkpoint", logger, "checkpoint of \(pending.count) streams to \(store.location) failed, will retry: \(error)"
      )
    }
  }
}

/// Opening the store at start-up: the directory's lock first (`StateLock`), then the file. A
/// damaged file is moved aside (kept for inspection) and a fresh one created, so a corrupted
/// checkpoint never stops the daemon.
enum StateFiles {
  /// Throws `StateLock.Failure.held` when another process owns the directory.
  static func open(directory: String, logger: Logger) throws -> (CheckpointStore, StateLock) {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let lock = try StateLock(directory: directory)
    return (try openStore(directory: directory, logger: logger), lock)
  }

  private static func openStore(directory: String, logger: Logger) throws -> CheckpointStore {
    let path = directory + "/state.sqlite"
    let damage: StoreError
    do {
      let store = try CheckpointStore(path: path)
      _ = try store.count()
      return store
    } catch {
      // SQLite reports the last of its attempts ("no such file" after falling back to
      // read-only); the directory itself says why it cannot be written.
      if access(directory, W_OK) != 0 {
        throw DaemonError("state directory \(directory) is not writable (\(String(cString: strerror(errno))))")
      }
      guard error.isCorruptFile else { throw error }
      damage = error
    }
    do {
      let error = damage
      let aside = path + ".corrupt-\(Int(Date().timeIntervalSince1970))"
      logger.error("state file \(path) is damaged (\(error)); moved to \(aside), starting with no saved state")
      for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
        try FileManager.default.moveItem(atPath: path + suffix, toPath: aside + suffix)
      }
      return try CheckpointStore(path: path)
    }
  }

  /// The directory to use, or nil when persistence is off.
  static func directory(configured: String, environment: [String: String]) -> String? {
    if configured == "none" { return nil }
    if !configured.isEmpty { return configured }
    if let state = environment["STATE_DIRECTORY"], !state.isEmpty {
      return String(state.split(separator: ":").first ?? Substring(state))
    }
    if let xdg = environment["XDG_STATE_HOME"], !xdg.isEmpty { return xdg + "/anomalyd" }
    if let home = environment["HOME"], !home.isEmpty { return home + "/.local/state/anomalyd" }
    return nil
  }
}
