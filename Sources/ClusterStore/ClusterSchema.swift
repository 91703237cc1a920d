import PostgresNIO

/// The cluster's tables in the shared database, created by the first member that starts.
///
/// - `anomalyd_cluster`: settings every member must agree on (the number of partitions).
/// - `anomalyd_members`: one row per instance, with the lease it renews.
/// - `anomalyd_partitions`: one row per partition: its owner, the owner's lease, and the
///   epoch (fencing token) that grows with every change of owner.
/// - `anomalyd_streams`: the checkpointed state of every stream, by partition.
public enum ClusterSchema {
  public static let version = 1
  /// Serialises creation when several members start at once (`CREATE TABLE IF NOT EXISTS`
  /// is not safe against a concurrent twin).
  static let creationLock: Int64 = 0x616E_6F6D_616C_7964

  /// Creates what is missing; throws if the database was set up with another partition count
  /// or a newer schema.
  public static func prepare(_ session: PostgresSession, partitions: Int) throws(ClusterStoreError) {
    try session.transaction { () throws(ClusterStoreError) in
      try session.rows("SELECT pg_advisory_xact_lock(\(creationLock))")
      try session.rows("CREATE TABLE IF NOT EXISTS anomalyd_cluster (key text PRIMARY KEY, value text NOT NULL)")
      try session.rows(
        "INSERT INTO anomalyd_cluster VALUES ('partitions', \(String(partitions))), ('schema', \(String(version))) ON CONFLICT DO NOTHING"
      )
      let settings = try session.rows("SELECT key, value FROM anomalyd_cluster")
      for row in settings {
        let (key, value) = try decode(row, as: (String, String).self)
        if key == "partitions", value != String(partitions) {
          throw ClusterStoreError(
            "the cluster database was set up with \(value) partitions; cluster.partitions is \(partitions) (every member must use the same)"
          )
        }
        if key == "schema", let stored = Int(value), stored > version {
          throw ClusterStoreError("the cluster database has schema \(stored); this anomalyd knows \(version)")
        }
      }
      try session.rows(
        """
        CREATE TABLE IF NOT EXISTS anomalyd_members (
          name text PRIMARY KEY, lease_until timestamptz NOT NULL, joined timestamptz NOT NULL DEFAULT now(),
          control text NOT NULL DEFAULT '', instance text NOT NULL DEFAULT '')
        """)
      try session.rows(
        """
        CREATE TABLE IF NOT EXISTS anomalyd_partitions (
          partition int PRIMARY KEY, owner text, epoch bigint NOT NULL DEFAULT 0,
          lease_until timestamptz NOT NULL DEFAULT '-infinity', handovers bigint NOT NULL DEFAULT 0)
        """)
      try session.rows(
        "INSERT INTO anomalyd_partitions (partition) SELECT generate_series(0, \(partitions - 1)) ON CONFLICT DO NOTHING"
      )
      try session.rows(
        """
        CREATE TABLE IF NOT EXISTS anomalyd_streams (
          id text PRIMARY KEY, partition int NOT NULL, state bytea NOT NULL, samples bigint NOT NULL,
          anomalies bigint NOT NULL, next_sequence bigint NOT NULL, last_seen_ms bigint NOT NULL,
          saved_ms bigint NOT NULL)
        """)
      try session.rows("CREATE INDEX IF NOT EXISTS anomalyd_streams_by_partition ON anomalyd_streams (partition)")
    }
  }
}

/// Decodes a row, turning the library's error into ours.
func decode<T: PostgresDecodable>(_ row: PostgresRow, as type: T.Type) throws(ClusterStoreError) -> T {
  do { return try row.decode(T.self) } catch { throw ClusterStoreError("unexpected row: \(error)") }
}

func decode<each T: PostgresDecodable>(_ row: PostgresRow, as type: (repeat each T).Type)
  throws(ClusterStoreError) -> (repeat each T)
{
  do { return try row.decode((repeat each T).self) } catch { throw ClusterStoreError("unexpected row: \(error)") }
}
