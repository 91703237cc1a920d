import ClusterStore
import Foundation
import Logging
import StateStore
import XCTest

/// The lease and fencing rules of cluster mode, against a real PostgreSQL server.
final class LeaseAndFencingTests: XCTestCase {
  var server: TestPostgres!
  let partitions = 16

  override func setUpWithError() throws {
    server = try TestPostgres()
  }

  override func tearDown() {
    server = nil
  }

  func session() throws -> PostgresSession {
    let url = try XCTUnwrap(PostgresURL(server.url))
    let session = PostgresSession(url: url, timeoutSeconds: 5, logger: Logger(label: "test"))
    try ClusterSchema.prepare(session, partitions: partitions)
    return session
  }

  func row(_ id: String, samples: UInt64) -> CheckpointStore.Row {
    .init(
      id: id, state: [1, 2, 3, UInt8(samples & 0xFF)], samples: samples, anomalies: 1, nextSequence: 2, lastSeenMs: 3)
  }

  func testMembersClaimDisjointPartitionsAndSeeEachOther() throws {
    let (a, b) = (try session(), try session())
    let leaseA = PartitionLeases(session: a, member: "a", leaseSeconds: 30)
    let leaseB = PartitionLeases(session: b, member: "b", leaseSeconds: 30)
    _ = try leaseA.renew(control: "/run/a.sock")
    let turn = try leaseB.renew(control: "/run/b.sock")
    XCTAssertEqual(turn.members.map(\.name), ["a", "b"])
    XCTAssertEqual(turn.members.first?.control, "/run/a.sock")
    XCTAssertEqual(turn.partitions.count, partitions)
    let takenByA = try leaseA.claim(Array(0..<partitions))
    XCTAssertEqual(takenByA.count, partitions)
    XCTAssertTrue(try leaseB.claim(Array(0..<partitions)).isEmpty, "b took partitions a holds")
    try leaseA.release([0, 1])
    XCTAssertEqual(try leaseB.claim(Array(0..<partitions)).keys.sorted(), [0, 1])
    let after = try leaseA.renew(control: "")
    XCTAssertEqual(after.renewed.keys.sorted(), Array(2..<partitions))
    XCTAssertEqual(after.partitions[0].owner, "b")
    XCTAssertEqual(after.partitions[0].handovers, 2)
  }

  func testALapsedLeaseIsTakenAndTheOldOwnersWritesAreFenced() throws {
    let (a, b) = (try session(), try session())
    let leaseA = PartitionLeases(session: a, member: "a", leaseSeconds: 0.5)
    let leaseB = PartitionLeases(session: b, member: "b", leaseSeconds: 30)
    let epochA = try XCTUnwrap(try leaseA.claim([3])[3])
    let storeA = SharedCheckpoints(session: a, member: "a")
    let written = try storeA.write([.init(id: "s", partition: 3, fence: epochA, row: row("s", samples: 10))], nowMs: 1)
    XCTAssertEqual(written.written, 1)
    XCTAssertEqual(written.fenced, 0)
    XCTAssertTrue(try leaseB.claim([3]).isEmpty, "taken while a's lease was valid")
    Thread.sleep(forTimeInterval: 0.7)
    let epochB = try XCTUnwrap(try leaseB.claim([3])[3])
    XCTAssertGreaterThan(epochB, epochA)
    // b resumes from a's checkpoint.
    let storeB = SharedCheckpoints(session: b, member: "b")
    XCTAssertEqual(try storeB.load(partitions: [3]).map(\.samples), [10])
    _ = try storeB.write([.init(id: "s", partition: 3, fence: epochB, row: row("s", samples: 20))], nowMs: 2)
    // a, not knowing yet, writes its older state: refused, b's stays.
    let late = try storeA.write([.init(id: "s", partition: 3, fence: epochA, row: row("s", samples: 11))], nowMs: 3)
    XCTAssertEqual(late.fenced, 1)
    XCTAssertEqual(late.written, 0)
    XCTAssertEqual(try storeB.load(partitions: [3]).first?.samples, 20)
    // Even renewing does not give a back what it lost.
    XCTAssertNil(try leaseA.renew(control: "").renewed[3])
    // b's stale epoch (from before a reclaim) is fenced too.
    try leaseB.release([3])
    let again = try XCTUnwrap(try leaseB.claim([3])[3])
    XCTAssertEqual(again, epochB + 1)
    let stale = try storeB.write([.init(id: "s", partition: 3, fence: epochB, row: nil)], nowMs: 4)
    XCTAssertEqual(stale.fenced, 1)
    XCTAssertEqual(try storeB.load(partitions: [3]).count, 1)
    XCTAssertEqual(try storeB.write([.init(id: "s", partition: 3, fence: again, row: nil)], nowMs: 5).written, 1)
    XCTAssertTrue(try storeB.load(partitions: [3]).isEmpty)
  }

  func testASecondProcessWithTheSameMemberNameIsRefused() throws {
    let (a, b) = (try session(), try session())
    let first = PartitionLeases(session: a, member: "h1", leaseSeconds: 0.5)
    let copy = PartitionLeases(session: b, member: "h1", leaseSeconds: 30)
    XCTAssertEqual(try first.claim([0, 1]).count, 2)
    _ = try first.renew(control: "/run/first.sock")
    XCTAssertThrowsError(try copy.renew(control: "/run/copy.sock")) { error in
      XCTAssertTrue("\(error)".contains("in use by another running instance"), "\(error)")
    }
    // The refused renewal changed nothing: the first process still renews its partitions.
    XCTAssertEqual(try first.renew(control: "/run/first.sock").renewed.keys.sorted(), [0, 1])
    // Once the first lapses (a crash), the name is free again, but not its partitions' leases.
    Thread.sleep(forTimeInterval: 0.7)
    let turn = try copy.renew(control: "/run/copy.sock")
    XCTAssertEqual(turn.members.map(\.control), ["/run/copy.sock"])
    XCTAssertTrue(turn.renewed.isEmpty, "a lapsed lease was renewed")
  }

  func testStatesRoundTripInBatches() throws {
    let a = try session()
    let lease = PartitionLeases(session: a, member: "a", leaseSeconds: 30)
    let epochs = try lease.claim(Array(0..<partitions))
    let store = SharedCheckpoints(session: a, member: "a")
    let changes = (0..<500).map { i -> SharedCheckpoints.Change in
      let p = i % partitions
      var r = row("stream-\(i)", samples: UInt64(i) | (1 << 63))
      r.state = [UInt8](repeating: UInt8(i & 0xFF), count: 9000)
      return .init(id: r.id, partition: p, fence: epochs[p]!, row: r)
    }
    XCTAssertEqual(try store.write(changes, nowMs: 7).written, 500)
    let loaded = try store.load(partitions: [5])
    XCTAssertEqual(loaded.count, 500 / partitions + (5 < 500 % partitions ? 1 : 0))
    let first = try XCTUnwrap(loaded.first { $0.id == "stream-5" })
    XCTAssertEqual(first.samples, 5 | (1 << 63))
    XCTAssertEqual(first.state, [UInt8](repeating: 5, count: 9000))
  }

  func testAnotherPartitionCountIsRefused() throws {
    _ = try session()
    let url = try XCTUnwrap(PostgresURL(server.url))
    let other = PostgresSession(url: url, timeoutSeconds: 5, logger: Logger(label: "test"))
    XCTAssertThrowsError(try ClusterSchema.prepare(other, partitions: partitions * 2)) { error in
      XCTAssertTrue("\(error)".contains("set up with 16 partitions"), "\(error)")
    }
  }

  func testAnUnreachableServerFailsWithinTheTimeout() throws {
    let url = try XCTUnwrap(PostgresURL("postgres://anomalyd@127.0.0.1:1/postgres"))
    let session = PostgresSession(url: url, timeoutSeconds: 1, logger: Logger(label: "test"))
    let started = Date()
    XCTAssertThrowsError(try session.rows("SELECT 1")) { error in
      XCTAssertTrue("\(error)".contains("cannot connect"), "\(error)")
    }
    XCTAssertLessThan(Date().timeIntervalSince(started), 5)
  }
}
