import CSQLite

#if canImport(Glibc)
  import Glibc
#endif

/// Where learned stream state is kept between runs: one SQLite database (WAL mode) in the
/// state directory, one row per stream.
///
/// SQLite gives what a hand-made file format would have to re-implement: atomic multi-row
/// transactions (a checkpoint is all or nothing, even on power loss or kill -9), incremental
/// writes (only the streams that changed are rewritten), and a CLI to inspect it
/// (`sqlite3 /var/lib/anomalyd/state.sqlite 'select id, samples from streams'`).
/// The per-stream blob is versioned and checksummed by the detector itself.
///
/// Not thread-safe: a connection is used by the thread that opened it.
public final class CheckpointStore {
  public struct Row: Sendable {
    public var id: String
    public var state: [UInt8]
    public var samples: UInt64
    public var anomalies: UInt64
    public var nextSequence: UInt64
    public var lastSeenMs: Int64

    public init(id: String, state: [UInt8], samples: UInt64, anomalies: UInt64, nextSequence: UInt64, lastSeenMs: Int64)
    {
      self.id = id
      self.state = state
      self.samples = samples
      self.anomalies = anomalies
      self.nextSequence = nextSequence
      self.lastSeenMs = lastSeenMs
    }
  }

  public static let schemaVersion = 1
  public let path: String
  private let db: OpaquePointer
  /// The prepared statement of `load(id:)`, kept: it runs once per returning stream.
  private var lookup: OpaquePointer?

  /// Opens (creating if needed) the database at `path`; `readOnly` opens an existing one for
  /// lookups only (a second connection beside the writer: WAL lets readers and one writer
  /// work at once).
  public init(path: String, readOnly: Bool = false) throws(StoreError) {
    self.path = path
    var handle: OpaquePointer?
    let flags =
      (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
    let status = sqlite3_open_v2(path, &handle, flags, nil)
    guard status == SQLITE_OK, let handle else {
      let message = Self.describeError(handle)
      sqlite3_close(handle)
      throw StoreError("open \(path): \(message)", code: status)
    }
    db = handle
    sqlite3_busy_timeout(db, 2000)
    if readOnly { return }
    do throws(StoreError) {
      try execute("PRAGMA journal_mode = WAL")
      try execute("PRAGMA synchronous = NORMAL")
      let version = try integer("PRAGMA user_version")
      if version > CheckpointStore.schemaVersion {
        throw StoreError(
          "\(path) has schema version \(version); this anomalyd knows \(CheckpointStore.schemaVersion)",
          code: SQLITE_MISMATCH)
      }
      // An existing file is only read here, so saved state is restored even from a full disk.
      if version == CheckpointStore.schemaVersion { return }
      try execute(
        """
        CREATE TABLE IF NOT EXISTS streams (
          id TEXT PRIMARY KEY, state BLOB NOT NULL, samples INTEGER NOT NULL, anomalies INTEGER NOT NULL,
          next_sequence INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL, saved_ms INTEGER NOT NULL
        ) WITHOUT ROWID
        """)
      try execute(
        "CREATE TABLE IF NOT EXISTS quarantine (id TEXT, state BLOB, reason TEXT NOT NULL, moved_ms INTEGER NOT NULL)")
      try execute("PRAGMA user_version = \(CheckpointStore.schemaVersion)")
    } catch {
      sqlite3_close(db)
      throw error
    }
  }

  deinit {
    sqlite3_finalize(lookup)
    sqlite3_close(db)
  }

  /// Writes `rows` and removes the streams in `deleting`, in one transaction: either all of it
  /// happens or none.
  public func save(_ rows: [Row], deleting: [String] = [], nowMs: Int64) throws(StoreError) {
    guard !rows.isEmpty || !deleting.isEmpty else { return }
    try execute("BEGIN IMMEDIATE")
    do throws(StoreError) {
      try deleteRows(deleting)
      let statement = try prepare(
        "INSERT OR REPLACE INTO streams (id, state, samples, anomalies, next_sequence, last_seen_ms, saved_ms) VALUES (?, ?, ?, ?, ?, ?, ?)"
      )
      defer { sqlite3_finalize(statement) }
      for row in rows {
        sqlite3_reset(statement)
        let status = row.state.withUnsafeBytes { blob in
          row.id.withCString { id in
            sqlite3_bind_text(statement, 1, id, -1, nil)
            sqlite3_bind_blob(statement, 2, blob.baseAddress, Int32(blob.count), nil)
            sqlite3_bind_int64(statement, 3, Int64(bitPattern: row.samples))
            sqlite3_bind_int64(statement, 4, Int64(bitPattern: row.anomalies))
            sqlite3_bind_int64(statement, 5, Int64(bitPattern: row.nextSequence))
            sqlite3_bind_int64(statement, 6, row.lastSeenMs)
            sqlite3_bind_int64(statement, 7, nowMs)
            return sqlite3_step(statement)
          }
        }
        guard status == SQLITE_DONE else { throw StoreError("save \(row.id): \(lastMessage)", code: status) }
      }
      try execute("COMMIT")
    } catch {
      try? execute("ROLLBACK")
      throw error
    }
  }

  /// The saved streams, most recently seen first (ties in id order); at most `limit`.
  public func loadAll(limit: Int = Int.max) throws(StoreError) -> [Row] {
    let statement = try prepare(
      "SELECT id, state, samples, anomalies, next_sequence, last_seen_ms FROM streams ORDER BY last_seen_ms DESC, id LIMIT ?"
    )
    defer { sqlite3_finalize(statement) }
    sqlite3_bind_int64(statement, 1, Int64(clamping: limit))
    var rows: [Row] = []
    while true {
      let status = sqlite3_step(statement)
      if status == SQLITE_DONE { return rows }
      guard status == SQLITE_ROW else { throw StoreError("load: \(lastMessage)", code: status) }
      rows.append(Self.row(statement))
    }
  }

  /// One saved stream, or nil if the file has none under `id`.
  public func load(id: String) throws(StoreError) -> Row? {
    if lookup == nil {
      lookup = try prepare(
        "SELECT id, state, samples, anomalies, next_sequence, last_seen_ms FROM streams WHERE id = ?")
    }
    let statement = lookup
    sqlite3_reset(statement)
    let status = id.withCString { text in
      sqlite3_bind_text(statement, 1, text, -1, nil)
      return sqlite3_step(statement)
    }
    defer { sqlite3_reset(statement) }
    if status == SQLITE_DONE { return nil }
    guard status == SQLITE_ROW else { throw StoreError("load \(id): \(lastMessage)", code: status) }
    return Self.row(statement)
  }

  private static func row(_ statement: OpaquePointer?) -> Row {
    let id = sqlite3_column_text(statement, 0).map { String(cString: $0) } ?? ""
    let count = Int(sqlite3_column_bytes(statement, 1))
    let state = sqlite3_column_blob(statement, 1).map { Array(UnsafeRawBufferPointer(start: $0, count: count)) } ?? []
    return Row(
      id: id, state: state, samples: UInt64(bitPattern: sqlite3_column_int64(statement, 2)),
      anomalies: UInt64(bitPattern: sqlite3_column_int64(statement, 3)),
      nextSequence: UInt64(bitPattern: sqlite3_column_int64(statement, 4)),
      lastSeenMs: sqlite3_column_int64(statement, 5))
  }

  /// Moves a stream's unusable state out of the way, keeping it for inspection.
  public func quarantine(id: String, reason: String, nowMs: Int64) throws(StoreError) {
    try execute("BEGIN IMMEDIATE")
    do throws(StoreError) {
      let move = try prepare(
        "INSERT INTO quarantine (id, state, reason, moved_ms) SELECT id, state, ?, ? FROM streams WHERE id = ?")
      defer { sqlite3_finalize(move) }
      let status = reason.withCString { r in
        id.withCString { i in
          sqlite3_bind_text(move, 1, r, -1, nil)
          sqlite3_bind_int64(move, 2, nowMs)
          sqlite3_bind_text(move, 3, i, -1, nil)
          return sqlite3_step(move)
        }
      }
      guard status == SQLITE_DONE else { throw StoreError("quarantine \(id): \(lastMessage)", code: status) }
      try deleteRows([id])
      try execute("COMMIT")
    } catch {
      try? execute("ROLLBACK")
      throw error
    }
  }

  public func count() throws(StoreError) -> Int {
    try integer("SELECT count(*) FROM streams")
  }

  // MARK: Helpers

  /// Removes streams' rows; the caller holds a transaction.
  private func deleteRows(_ ids: [String]) throws(StoreError) {
    guard !ids.isEmpty else { return }
    let delete = try prepare("DELETE FROM streams WHERE id = ?")
    defer { sqlite3_finalize(delete) }
    for id in ids {
      sqlite3_reset(delete)
      let status = id.withCString { i in
        sqlite3_bind_text(delete, 1, i, -1, nil)
        return sqlite3_step(delete)
      }
      guard status == SQLITE_DONE else { throw StoreError("delete \(id): \(lastMessage)", code: status) }
    }
  }

  private var lastMessage: String { Self.describeError(db) }

  /// SQLite's message, with the operating system's reason when there is one ("unable to open
  /// database file" alone does not say that the disk is read-only).
  private static func describeError(_ handle: OpaquePointer?) -> String {
    guard let handle else { return "out of memory" }
    let message = String(cString: sqlite3_errmsg(handle))
    let code = sqlite3_system_errno(handle)
    return code == 0 ? message : "\(message) (\(String(cString: strerror(code))))"
  }

  private func execute(_ sql: String) throws(StoreError) {
    var error: UnsafeMutablePointer<CChar>?
    let status = sqlite3_exec(db, sql, nil, nil, &error)
    guard status == SQLITE_OK else {
      let message = error.map { String(cString: $0) } ?? lastMessage
      sqlite3_free(error)
      throw StoreError("\(sql.prefix(40)): \(message)", code: status)
    }
  }

  private func prepare(_ sql: String) throws(StoreError) -> OpaquePointer {
    var statement: OpaquePointer?
    let status = sqlite3_prepare_v2(db, sql, -1, &statement, nil)
    guard status == SQLITE_OK, let statement else { throw StoreError("prepare: \(lastMessage)", code: status) }
    return statement
  }

  private func integer(_ sql: String) throws(StoreError) -> Int {
    let statement = try prepare(sql)
    defer { sqlite3_finalize(statement) }
    guard sqlite3_step(statement) == SQLITE_ROW else { throw StoreError("\(sql): \(lastMessage)", code: SQLITE_ERROR) }
    return Int(sqlite3_column_int64(statement, 0))
  }
}

/// A failed store operation, with SQLite's result code.
public struct StoreError: Error, CustomStringConvertible, Sendable {
  public let description: String
  public let code: Int32

  init(_ description: String, code: Int32) {
    self.description = description
    self.code = code
  }

  /// The file is not a database, or is damaged: move it aside and start fresh.
  public var isCorruptFile: Bool { code == SQLITE_NOTADB || code == SQLITE_CORRUPT }
}
