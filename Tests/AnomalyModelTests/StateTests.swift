import XCTest

@testable import AnomalyModel

/// Checkpoints restore a detector exactly, and no corrupted blob can crash the decoder.
final class StateTests: XCTestCase {
  func makeSeries(_ count: Int, channels: Int = 2) -> [[Double]] {
    var rng = SplitMix64(seed: 8)
    return (0..<count).map { i in (0..<channels).map { c in sin(Double(i) / Double(5 + c)) + 0.1 * gaussian(&rng) } }
  }

  func testRestoredDetectorContinuesBitForBit() throws {
    let series = makeSeries(1500)
    let original = StreamDetector(configuration: DetectorConfiguration(), channels: 2)
    let workspace = DetectorWorkspace()
    for values in series[..<700] { _ = values.withUnsafeBufferPointer { original.process($0, workspace) } }
    let blob = original.encodeState()
    let restored = try StreamDetector.decodeState(blob)
    XCTAssertEqual(restored.encodeState(), blob)
    let other = DetectorWorkspace()
    for values in series[700...] {
      let a = values.withUnsafeBufferPointer { original.process($0, workspace) }
      let b = values.withUnsafeBufferPointer { restored.process($0, other) }
      XCTAssertEqual(a, b)
    }
  }

  func testWarmingUpStateRoundTrips() throws {
    let detector = StreamDetector(configuration: DetectorConfiguration(), channels: 1)
    let workspace = DetectorWorkspace()
    for i in 0..<100 { _ = [Double(i % 9)].withUnsafeBufferPointer { detector.process($0, workspace) } }
    let restored = try StreamDetector.decodeState(detector.encodeState())
    XCTAssertTrue(restored.isWarmingUp)
    XCTAssertEqual(restored.samples, 100)
    XCTAssertEqual(restored.threshold, detector.threshold)
  }

  func testCorruptionIsDetected() {
    let blob = StreamDetector(configuration: DetectorConfiguration(), channels: 1).encodeState()
    var flipped = blob
    flipped[blob.count / 2] ^= 0x40
    XCTAssertThrowsError(try StreamDetector.decodeState(flipped)) {
      XCTAssertEqual($0 as? StateError, .checksumMismatch)
    }
    XCTAssertThrowsError(try StreamDetector.decodeState(Array(blob.dropLast(3)))) {
      XCTAssertEqual($0 as? StateError, .truncated)
    }
    var version = blob
    version[4] = 9
    XCTAssertThrowsError(try StreamDetector.decodeState(version)) {
      XCTAssertEqual($0 as? StateError, .unsupportedVersion(9))
    }
    XCTAssertThrowsError(try StreamDetector.decodeState(Array("this is not a detector state".utf8))) {
      XCTAssertEqual($0 as? StateError, .badMagic)
    }
  }

  /// Mutations behind a valid checksum reach the field parsers: none may trap.
  func testMutatedPayloadsNeverCrash() {
    let detector = StreamDetector(configuration: DetectorConfiguration(), channels: 1)
    let workspace = DetectorWorkspace()
    for i in 0..<400 { _ = [Double(i % 9)].withUnsafeBufferPointer { detector.process($0, workspace) } }
    let blob = detector.encodeState()
    var rng = SplitMix64(seed: 77)
    var rejected = 0
    for _ in 0..<1000 {
      var mutated = blob
      let position = 10 + Int(rng.next() % UInt64(min(600, blob.count - 14)))
      mutated[position] = UInt8(truncatingIfNeeded: rng.next())
      let payloadEnd = mutated.count - 4
      let crc = CRC32.checksum(mutated[10..<payloadEnd])
      withUnsafeBytes(of: crc.littleEndian) { mutated.replaceSubrange(payloadEnd..., with: $0) }
      do {
        let restored = try StreamDetector.decodeState(mutated)
        _ = [1.0].withUnsafeBufferPointer { restored.process($0, DetectorWorkspace()) }
      } catch {
        rejected += 1
      }
    }
    XCTAssertGreaterThan(rejected, 0)
  }

  func testCRC32KnownValue() {
    XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)[...]), 0xCBF4_3926)
  }
}
