import Foundation
import PostgresNIO

/// One member's view of the cluster's leases, read and renewed in the shared database.
///
/// Leases are rows with an expiry, not advisory locks: an advisory lock lives as long as the
/// server's session, and a member cut off from the server cannot know when the server will
/// notice and let it go, so it cannot know when to stop. An expiry is known to both sides: the
/// member stops scoring when its own clock says the lease is over (`PartitionLeases.Turn`),
/// and others take the partition only once the server's clock says so. Every expiry is the
/// server's `clock_timestamp()` plus the lease time, so members' clocks need not agree.
public struct PartitionLeases {
  public let member: String
  public let leaseSeconds: Double
  private let session: PostgresSession

  /// Tells this process from another that was given the same member name by mistake.
  public let instance: String

  public init(session: PostgresSession, member: String, leaseSeconds: Double, instance: String = UUID().uuidString) {
    self.session = session
    self.member = member
    self.leaseSeconds = leaseSeconds
    self.instance = instance
  }

  public struct Member: Sendable, Equatable {
    public var name: String
    /// Seconds until the member's lease lapses, by the server's clock.
    public var leaseLeft: Double
    /// Where the member's control socket is (for `anomalyctl cluster`).
    public var control: String
  }

  public struct Partition: Sendable, Equatable {
    public var partition: Int
    /// The holder of a valid lease; nil when free or lapsed.
    public var owner: String?
    public var epoch: Int64
    public var handovers: Int64
  }

  /// What one renewal saw.
  public struct Turn: Sendable {
    /// The live members, by name.
    public var members: [Member]
    /// Every partition.
    public var partitions: [Partition]
    /// The partitions whose lease this member renewed, with their epochs.
    public var renewed: [Int: Int64]
  }

  /// Renews this member's lease and those of its partitions, and reads the cluster.
  ///
  /// Throws, renewing nothing, while another live process holds the same member name: two
  /// processes sharing one name would share its leases and score the same streams. A member
  /// restarted after a crash waits until its old lease lapses.
  public func renew(control: String) throws(ClusterStoreError) -> Turn {
    try session.transaction { () throws(ClusterStoreError) -> Turn in
      let registered = try session.rows(
        """
        INSERT INTO anomalyd_members (name, lease_until, control, instance)
        VALUES (\(member), clock_timestamp() + make_interval(secs => \(leaseSeconds)), \(control), \(instance))
        ON CONFLICT (name) DO UPDATE SET lease_until = EXCLUDED.lease_until, control = EXCLUDED.control,
          instance = EXCLUDED.instance
        WHERE anomalyd_members.instance = EXCLUDED.instance OR anomalyd_members.lease_until <= clock_timestamp()
        RETURNING name
        """)
      guard !registered.isEmpty else {
        throw ClusterStoreError(
          "member name '\(member)' is in use by another running instance (cluster.member must be unique); "
            + "retrying until its lease lapses")
      }
      var renewed: [Int: Int64] = [:]
      for row in try session.rows(
        """
        UPDATE anomalyd_partitions SET lease_until = clock_timestamp() + make_interval(secs => \(leaseSeconds))
        WHERE owner = \(member) AND lease_until > clock_timestamp() RETURNING partition, epoch
        """)
      {
        let (partition, epoch) = try decode(row, as: (Int32, Int64).self)
        renewed[Int(partition)] = epoch
      }
      // Members gone for an hour are forgotten.
      try session.rows("DELETE FROM anomalyd_members WHERE lease_until < clock_timestamp() - interval '1 hour'")
      var members: [Member] = []
      for row in try session.rows(
        """
        SELECT name, EXTRACT(EPOCH FROM lease_until - clock_timestamp())::float8, control FROM anomalyd_members
        WHERE lease_until > clock_timestamp() ORDER BY name
        """)
      {
        let (name, left, control) = try decode(row, as: (String, Double, String).self)
        members.append(Member(name: name, leaseLeft: left, control: control))
      }
      var partitions: [Partition] = []
      for row in try session.rows(
        """
        SELECT partition, CASE WHEN lease_until > clock_timestamp() THEN owner END, epoch, handovers
        FROM anomalyd_partitions ORDER BY partition
        """)
      {
        let (partition, owner, epoch, handovers) = try decode(row, as: (Int32, String?, Int64, Int64).self)
        partitions.append(Partition(partition: Int(partition), owner: owner, epoch: epoch, handovers: handovers))
      }
      return Turn(members: members, partitions: partitions, renewed: renewed)
    }
  }

  /// Takes the free (or lapsed) partitions among `wanted`; returns those taken, with their new
  /// epochs. A partition another member holds a valid lease on is not taken.
  public func claim(_ wanted: [Int]) throws(ClusterStoreError) -> [Int: Int64] {
    guard !wanted.isEmpty else { return [:] }
    var taken: [Int: Int64] = [:]
    for row in try session.rows(
      """
      UPDATE anomalyd_partitions SET owner = \(member), epoch = epoch + 1, handovers = handovers + 1,
        lease_until = clock_timestamp() + make_interval(secs => \(leaseSeconds))
      WHERE partition = ANY(\(wanted.map(Int32.init))) AND (owner IS NULL OR lease_until <= clock_timestamp())
      RETURNING partition, epoch
      """)
    {
      let (partition, epoch) = try decode(row, as: (Int32, Int64).self)
      taken[Int(partition)] = epoch
    }
    return taken
  }

  /// Gives up partitions (after their streams' state is written), so that their new owner
  /// need not wait for the lease to lapse.
  public func release(_ partitions: [Int]) throws(ClusterStoreError) {
    guard !partitions.isEmpty else { return }
    try session.rows(
      """
      UPDATE anomalyd_partitions SET owner = NULL, lease_until = '-infinity'
      WHERE partition = ANY(\(partitions.map(Int32.init))) AND owner = \(member)
      """)
  }

  /// Leaves the cluster: the member's row goes, so the others reassign at once.
  public func leave() throws(ClusterStoreError) {
    try session.rows("DELETE FROM anomalyd_members WHERE name = \(member) AND instance = \(instance)")
  }
}
