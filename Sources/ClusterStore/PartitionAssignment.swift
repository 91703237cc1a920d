import StateStore

/// Which live member owns which partition: rendezvous (highest-random-weight) hashing.
///
/// Every member computes the same answer from the same list of live members, with no
/// coordination beyond that list. A member that joins wins about 1/N of the partitions, taken
/// from every other member alike, and nothing else moves; a member that leaves gives up only
/// its own, spread over the rest. (Consistent hashing on a ring gives the same with virtual
/// nodes to even out the shares; rendezvous needs none, and N × partitions weights per change
/// of membership are cheap at a few members and a thousand partitions.)
public enum PartitionAssignment {
  /// The member that should own `partition`; nil when there are no members.
  public static func owner(of partition: Int, among members: [String]) -> String? {
    winner(of: partition, among: members.map { ($0, memberHash($0)) })
  }

  /// The partitions `member` should own, ascending.
  public static func partitions(of member: String, among members: [String], count: Int) -> [Int] {
    let hashed = members.map { ($0, memberHash($0)) }
    return (0..<count).filter { winner(of: $0, among: hashed) == member }
  }

  /// The highest weight wins; ties (vanishingly rare) go to the smaller name, so every member
  /// agrees.
  private static func winner(of partition: Int, among members: [(name: String, hash: UInt64)]) -> String? {
    var best: (weight: UInt64, name: String)?
    for (name, hash) in members {
      let w = weight(hash, partition)
      if let current = best, w < current.weight || (w == current.weight && name >= current.name) { continue }
      best = (w, name)
    }
    return best?.name
  }

  /// FNV-1a of the member's name, the hash stream ids use.
  static func memberHash(_ name: String) -> UInt64 { StableHash.fnv1a(name) }

  /// The SplitMix64 finaliser of the pair: a well-mixed weight per (member, partition).
  static func weight(_ memberHash: UInt64, _ partition: Int) -> UInt64 {
    StableHash.mix(memberHash ^ (UInt64(partition) &* 0x9E37_79B9_7F4A_7C15))
  }
}
