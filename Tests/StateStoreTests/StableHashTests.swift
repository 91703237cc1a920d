import StateStore
import XCTest

final class StableHashTests: XCTestCase {
  /// The hash is part of the saved state's contract (workers, shards and partitions come from
  /// it): it must never change. Reference values of 64-bit FNV-1a.
  func testIsFNV1a() {
    XCTAssertEqual(StableHash.fnv1a(""), 0xcbf2_9ce4_8422_2325)
    XCTAssertEqual(StableHash.fnv1a("a"), 0xaf63_dc4c_8601_ec8c)
    XCTAssertEqual(StableHash.fnv1a("foobar"), 0x8594_4171_f739_67e8)
  }

  /// Ids that differ only in their last characters spread over the partitions: FNV-1a's high
  /// bits alone put 200 such ids in 3 of 64 shares.
  func testSimilarIdsSpreadOverPartitions() {
    var counts = Array(repeating: 0, count: 64)
    for i in 0..<6400 { counts[StableHash.partition(of: StableHash.fnv1a("s\(i)"), count: 64)] += 1 }
    // 100 expected per partition; a binomial spread stays well within 60...140.
    XCTAssertTrue(counts.allSatisfy { (60...140).contains($0) }, "\(counts)")
  }
}
