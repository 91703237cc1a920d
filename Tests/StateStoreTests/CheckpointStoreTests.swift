import Foundation
import StateStore
import XCTest

final class CheckpointStoreTests: XCTestCase {
  var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(at: directory)
  }

  func row(_ id: String, _ byte: UInt8, samples: UInt64 = 1, lastSeenMs: Int64 = 4) -> CheckpointStore.Row {
    .init(
      id: id, state: [UInt8](repeating: byte, count: 100), samples: samples, anomalies: 2, nextSequence: 3,
      lastSeenMs: lastSeenMs)
  }

  func testSaveLoadAndOverwrite() throws {
    let path = directory.appendingPathComponent("state.sqlite").path
    do {
      let store = try CheckpointStore(path: path)
      try store.save([row("a", 1), row("b", 2)], nowMs: 10)
      try store.save([row("a", 9, samples: 50)], nowMs: 20)  // only the changed stream
    }
    let reopened = try CheckpointStore(path: path)
    let rows = try reopened.loadAll()
    XCTAssertEqual(rows.map(\.id), ["a", "b"])
    XCTAssertEqual(rows[0].state, [UInt8](repeating: 9, count: 100))
    XCTAssertEqual(rows[0].samples, 50)
    XCTAssertEqual(rows[1].nextSequence, 3)
    try reopened.quarantine(id: "b", reason: "test", nowMs: 30)
    XCTAssertEqual(try reopened.loadAll().map(\.id), ["a"])
  }

  /// At start only the most recently seen `limit` streams are loaded; a reader beside the
  /// writer finds any one stream by id, including one written after the reader opened.
  func testMostRecentFirstAndLookupByID() throws {
    let path = directory.appendingPathComponent("state.sqlite").path
    let store = try CheckpointStore(path: path)
    try store.save(
      [row("old", 1, lastSeenMs: 100), row("new", 2, lastSeenMs: 300), row("mid", 3, lastSeenMs: 200)], nowMs: 1)
    XCTAssertEqual(try store.loadAll().map(\.id), ["new", "mid", "old"])
    XCTAssertEqual(try store.loadAll(limit: 2).map(\.id), ["new", "mid"])
    let reader = try CheckpointStore(path: path, readOnly: true)
    XCTAssertEqual(try reader.load(id: "old")?.state, [UInt8](repeating: 1, count: 100))
    XCTAssertNil(try reader.load(id: "absent"))
    try store.save([row("later", 7, samples: 42)], nowMs: 2)
    XCTAssertEqual(try reader.load(id: "later")?.samples, 42)
    XCTAssertEqual(try reader.load(id: "mid")?.lastSeenMs, 200)
  }

  func testGarbageFileIsReportedAsCorrupt() throws {
    let path = directory.appendingPathComponent("state.sqlite").path
    try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: path))
    XCTAssertThrowsError(try CheckpointStore(path: path)) { error in
      XCTAssertTrue((error as? StoreError)?.isCorruptFile ?? false, "\(error)")
    }
  }

  func testUnwritableDirectoryFailsLoudly() throws {
    XCTAssertThrowsError(try CheckpointStore(path: "/proc/anomalyd-cannot-be-here/state.sqlite"))
  }
}
