import ClusterStore
import XCTest

final class PartitionAssignmentTests: XCTestCase {
  let count = 1024

  func owners(_ members: [String]) -> [String?] {
    (0..<count).map { PartitionAssignment.owner(of: $0, among: members) }
  }

  func testEveryPartitionHasExactlyOneOwnerAndSharesAreFair() {
    let members = ["a", "b", "c"]
    var total = 0
    for member in members {
      let mine = PartitionAssignment.partitions(of: member, among: members, count: count)
      XCTAssertEqual(mine, (0..<count).filter { PartitionAssignment.owner(of: $0, among: members) == member })
      // A fair share is 341; rendezvous hashing keeps each within a few standard deviations.
      XCTAssertGreaterThan(mine.count, 290, member)
      XCTAssertLessThan(mine.count, 392, member)
      total += mine.count
    }
    XCTAssertEqual(total, count)
  }

  func testAJoinMovesOnlyTheJoinersShare() {
    let before = owners(["host-1", "host-2", "host-3"])
    let after = owners(["host-1", "host-2", "host-3", "host-4"])
    let moved = (0..<count).filter { before[$0] != after[$0] }
    XCTAssertTrue(moved.allSatisfy { after[$0] == "host-4" }, "a partition moved between old members")
    XCTAssertLessThanOrEqual(Double(moved.count), 1.2 * Double(count) / 4)
    XCTAssertGreaterThanOrEqual(Double(moved.count), 0.8 * Double(count) / 4)
  }

  func testADeathMovesOnlyTheDeadMembersPartitions() {
    let before = owners(["host-1", "host-2", "host-3"])
    let after = owners(["host-1", "host-3"])
    for p in 0..<count where before[p] != "host-2" { XCTAssertEqual(before[p], after[p]) }
    XCTAssertFalse(after.contains("host-2"))
  }

  func testNoMembersOwnNothing() {
    XCTAssertNil(PartitionAssignment.owner(of: 0, among: []))
    XCTAssertEqual(PartitionAssignment.partitions(of: "a", among: [], count: 8), [])
  }
}

final class PostgresURLTests: XCTestCase {
  func testTCPAndSocketForms() throws {
    let tcp = try XCTUnwrap(PostgresURL("postgres://anomalyd:secret@db.example:6543/state"))
    XCTAssertEqual(tcp.address, .tcp(host: "db.example", port: 6543))
    XCTAssertEqual(tcp.user, "anomalyd")
    XCTAssertEqual(tcp.password, "secret")
    XCTAssertEqual(tcp.database, "state")
    XCTAssertFalse(tcp.description.contains("secret"))
    let socket = try XCTUnwrap(PostgresURL("postgresql://anomalyd@/state?host=/run/postgresql"))
    XCTAssertEqual(socket.address, .unixSocket(path: "/run/postgresql/.s.PGSQL.5432"))
    let fromEnvironment = try XCTUnwrap(
      PostgresURL("postgres://anomalyd@127.0.0.1/state", environment: ["PGPASSWORD": "p"]))
    XCTAssertEqual(fromEnvironment.password, "p")
    XCTAssertEqual(fromEnvironment.address, .tcp(host: "127.0.0.1", port: 5432))
  }

  func testRejectsWhatIsNotAPostgresURL() {
    for bad in [
      "http://a@b/c", "postgres://host/db", "postgres://u@host", "postgres://u@host/a/b", "postgres://u@/db",
      "postgres://u@/db?host=relative", "postgres://u@h:70000/db",
    ] {
      XCTAssertNil(PostgresURL(bad), bad)
    }
  }
}
