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
    assertContinueIdentically(original, restored, on: series[700...])
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
    version[4] = UInt8(StreamDetector.stateVersion + 1)
    XCTAssertThrowsError(try StreamDetector.decodeState(version)) {
      XCTAssertEqual($0 as? StateError, .unsupportedVersion(StreamDetector.stateVersion + 1))
    }
    XCTAssertThrowsError(try StreamDetector.decodeState(Array("this is not a detector state".utf8))) {
      XCTAssertEqual($0 as? StateError, .badMagic)
    }
  }

  /// A checkpoint written before alarm escalation existed (format version 1: no escalation in
  /// the configuration, no event surprise in the gate, no stuck-sensor check, no threshold
  /// catch-up, no recurring bursts) still restores, with all of them off, and then scores exactly as a detector
  /// that never had them.
  func testVersionOneStateRestoresWithEscalationOff() throws {
    try assertOlderStateRestores(DetectorConfiguration.restored(from: 1), version: 1)
  }

  /// A checkpoint written before the stuck-sensor check, the threshold's catch-up and the
  /// recurring-burst rule existed (format version 2) restores with all three off.
  func testVersionTwoStateRestoresWithTheVersionThreeRulesOff() throws {
    try assertOlderStateRestores(DetectorConfiguration.restored(from: 2), version: 2)
  }

  /// A checkpoint written before the slow scale existed (format version 3) restores without it.
  func testVersionThreeStateRestoresWithoutTheSlowScale() throws {
    try assertOlderStateRestores(DetectorConfiguration.restored(from: 3), version: 3)
  }

  /// A checkpoint written before the seasonal check existed (format version 4) restores with
  /// the slow scale and without the check.
  func testVersionFourStateRestoresWithoutTheSeasonalCheck() throws {
    try assertOlderStateRestores(DetectorConfiguration.restored(from: 4), version: 4)
  }

  /// A checkpoint written before the cross-channel check and relearning existed (format
  /// version 5) restores with everything else and without those two.
  func testVersionFiveStateRestoresWithoutTheVersionSixRules() throws {
    try assertOlderStateRestores(DetectorConfiguration.restored(from: 5), version: 5)
  }

  /// A checkpoint written before the read-out refit existed (format version 6) restores with
  /// everything else and the SGD read-out reconstructing, as before.
  func testVersionSixStateRestoresWithoutTheReadoutRefit() throws {
    try assertOlderStateRestores(DetectorConfiguration.restored(from: 6), version: 6)
  }

  /// A checkpoint written before the history attention existed (format version 7) restores
  /// with everything else and the read-out refit on the model's features alone, as before.
  func testVersionTenStateRestoresWithoutDiscreteChannels() throws {
    try assertOlderStateRestores(DetectorConfiguration.restored(from: 10), version: 10)
  }

  func testVersionElevenStateRestores() throws {
    try assertOlderStateRestores(DetectorConfiguration.restored(from: 11), version: 11)
  }

  func testVersionSevenStateRestoresWithoutTheHistoryAttention() throws {
    try assertOlderStateRestores(DetectorConfiguration.restored(from: 7), version: 7)
  }

  /// A stream of three channels, its cross-channel check past the warm-up, continues exactly.
  func testRestoredCrossChannelCheckContinuesBitForBit() throws {
    let series = makeSeries(900, channels: 3)
    let original = StreamDetector(configuration: DetectorConfiguration(), channels: 3)
    XCTAssertNotNil(original.crossChannel)
    let workspace = DetectorWorkspace()
    for values in series[..<450] { _ = values.withUnsafeBufferPointer { original.process($0, workspace) } }
    let blob = original.encodeState()
    let restored = try StreamDetector.decodeState(blob)
    XCTAssertEqual(restored.encodeState(), blob)
    assertContinueIdentically(original, restored, on: series[450...])
  }

  /// A stream with the history attention, its ring wrapped several times, continues exactly.
  func testRestoredHistoryAttentionContinuesBitForBit() throws {
    var configuration = DetectorConfiguration()
    configuration.historyLength = 512
    let series = makeSeries(2400, channels: 2)
    let original = StreamDetector(configuration: configuration, channels: 2)
    XCTAssertNotNil(original.history)
    let workspace = DetectorWorkspace()
    for values in series[..<1300] { _ = values.withUnsafeBufferPointer { original.process($0, workspace) } }
    let blob = original.encodeState()
    let restored = try StreamDetector.decodeState(blob)
    XCTAssertEqual(restored.encodeState(), blob)
    assertContinueIdentically(original, restored, on: series[1300...])
  }

  /// A version 8 checkpoint ended with the history attention's novelty tail, since retired: it
  /// restores with the tail read and dropped and continues exactly, and one cut short inside
  /// that tail is refused.
  func testVersionEightStateRestoresWithoutTheNoveltyTail() throws {
    let series = makeSeries(2000, channels: 1)
    let original = StreamDetector(configuration: DetectorConfiguration.restored(from: 10), channels: 1)
    XCTAssertNotNil(original.history)
    let workspace = DetectorWorkspace()
    for values in series[..<1000] { _ = values.withUnsafeBufferPointer { original.process($0, workspace) } }
    let c = original.configuration
    var tail = TailThreshold(
      level: c.thresholdLevel, risk: c.risk, memory: c.thresholdWindow, refitInterval: c.thresholdRefit,
      catchUp: c.thresholdCatchUp, correctsForClipping: false)
    for i in 0..<500 { tail.record(Double(i % 37) / 10) }
    tail.calibrate()
    var retiredTail = StateWriter()
    tail.encode(into: &retiredTail)
    let blob = original.encodeState()
    // Version 10 appended the situations marked normal and the episode state (33 bytes with none
    // marked and no episode open), and version 11 the configuration's last field (8 bytes) and
    // the discrete channels' flag (1 byte).
    XCTAssertTrue(original.accepted.isEmpty)
    var payload = Array(blob[10..<(blob.count - 4 - 1 - 33)]) + retiredTail.bytes
    var w = StateWriter()
    original.configuration.encode(into: &w)
    payload.removeSubrange((w.bytes.count - 8)..<w.bytes.count)
    let restored = try StreamDetector.decodeState(withHeader(payload, version: 8))
    XCTAssertEqual(restored.encodeState(), blob)
    assertContinueIdentically(original, restored, on: series[1000...])
    XCTAssertThrowsError(try StreamDetector.decodeState(withHeader(Array(payload.dropLast(3)), version: 8)))
  }

  /// The slow scale past its warm-up and in the middle of a block continues exactly.
  func testRestoredSlowScaleContinuesBitForBit() throws {
    var configuration = DetectorConfiguration()
    configuration.slowBlock = 8
    configuration.slowWarmup = 16
    let series = makeSeries(1200, channels: 2)
    let original = StreamDetector(configuration: configuration, channels: 2)
    let workspace = DetectorWorkspace()
    for values in series[..<605] { _ = values.withUnsafeBufferPointer { original.process($0, workspace) } }
    XCTAssertEqual(original.slow?.blocks, 75)
    let blob = original.encodeState()
    let restored = try StreamDetector.decodeState(blob)
    XCTAssertEqual(restored.encodeState(), blob)
    assertContinueIdentically(original, restored, on: series[605...])
  }

  func assertOlderStateRestores(_ configuration: DetectorConfiguration, version: UInt16) throws {
    let series = makeSeries(1200, channels: 1)
    let original = StreamDetector(configuration: configuration, channels: 1)
    let workspace = DetectorWorkspace()
    for values in series[..<600] { _ = values.withUnsafeBufferPointer { original.process($0, workspace) } }
    let restored = try StreamDetector.decodeState(olderState(original, version: version))
    XCTAssertEqual(restored.configuration, original.configuration)
    XCTAssertEqual(restored.gate, original.gate)
    assertContinueIdentically(original, restored, on: series[600...])
  }

  /// `detector`'s state as an older format wrote it: the current payload without the fields
  /// later versions added. Version 9 retired the history attention's novelty tail (a test
  /// above); version 8 added the history attention (below). Version 7 added the configuration's last two fields and, at the
  /// payload's end, the read-out refit's presence flag (the refit is off in these detectors).
  /// Version 6 added the two configuration fields before those, and before that flag the
  /// cross-channel check's presence flag (absent for these one-channel detectors) and the
  /// recent fraction of points above the threshold. Version 5 added the configuration's field before it (and the seasonal check at
  /// the slow scale's end, absent when that field is 0). Version 4 added the three fields
  /// before that and the slow scale after the model (for a detector without one, its presence
  /// flag). Version 3 added the configuration's last integer and two doubles before those,
  /// each tail's last integer (its run below the tail start), the scorer's channel-tail flag,
  /// the gate's recurring-burst fields and the stuck-sensor block after the ranges; version 2
  /// the configuration's double before those and the gate's event surprise.
  func olderState(_ detector: StreamDetector, version: UInt16) -> [UInt8] {
    func length(_ encode: (inout StateWriter) -> Void) -> Int {
      var w = StateWriter()
      encode(&w)
      return w.bytes.count
    }
    // Version 12 changed only the discrete channels' block, absent for these one-channel
    // detectors. Version 11 added the configuration's last field and, at the payload's end,
    // the discrete channels' presence flag.
    precondition(detector.discrete == nil, "older formats have no discrete channels")
    if version == 11 { return withHeader(Array(detector.encodeState().dropFirst(10).dropLast(4)), version: 11) }
    var payload = Array(detector.encodeState().dropFirst(10).dropLast(4 + 1))
    let versionElevenConfigurationEnd = length { detector.configuration.encode(into: &$0) }
    payload.removeSubrange((versionElevenConfigurationEnd - 8)..<versionElevenConfigurationEnd)
    if version == 10 { return withHeader(payload, version: version) }
    // Version 10 appended the situations marked normal and the episode state (33 bytes with none
    // marked and no episode open).
    precondition(detector.accepted.isEmpty, "older formats have no situations marked normal")
    payload.removeLast(33)
    precondition(version >= 5 || detector.slow?.seasonalPeriods == nil, "formats before 5 have no seasonal check")
    precondition(version >= 4 || detector.slow == nil, "formats before 4 have no slow scale")
    precondition(detector.crossChannel == nil, "older formats have no cross-channel check")
    precondition(detector.history == nil, "older formats have no history attention")
    // Version 8 added the configuration's last two fields and the history attention's presence
    // flag at the payload's end; what follows works on the version-7 payload.
    let currentConfigurationEnd = versionElevenConfigurationEnd - 8
    payload.removeSubrange((payload.count - 1)..<payload.count)
    payload.removeSubrange((currentConfigurationEnd - 16)..<currentConfigurationEnd)
    if version == 7 { return withHeader(payload, version: version) }
    // Positions below are in the version-7 payload; ranges are removed from the last one back.
    precondition(detector.readout == nil, "formats before 7 have no read-out refit")
    let fullConfigurationEnd = currentConfigurationEnd - 16
    let removedByVersionSeven = [
      (fullConfigurationEnd - 16)..<fullConfigurationEnd, (payload.count - 1)..<payload.count,
    ]
    let removedByVersionSix = [
      (fullConfigurationEnd - 32)..<(fullConfigurationEnd - 16), (payload.count - 10)..<(payload.count - 1),
    ]
    let removedByVersionFive = [(fullConfigurationEnd - 40)..<(fullConfigurationEnd - 32)]
    func removing(_ ranges: [Range<Int>]) -> [UInt8] {
      for range in ranges.sorted(by: { $0.lowerBound > $1.lowerBound }) { payload.removeSubrange(range) }
      return withHeader(payload, version: version)
    }
    if version == 6 { return removing(removedByVersionSeven) }
    if version == 5 { return removing(removedByVersionSeven + removedByVersionSix) }
    if version == 4 { return removing(removedByVersionSeven + removedByVersionSix + removedByVersionFive) }
    // The slow scale's presence flag comes just before the cross-channel flag, the fraction and
    // the refit's flag that end the payload; the version-3 configuration ended 64 bytes before
    // the current one.
    let slowFlagStart = payload.count - 11
    let configurationEnd = fullConfigurationEnd - 64
    let pointEnd =
      fullConfigurationEnd + 8 + 8 + length { detector.normaliser.encode(into: &$0) }
      + length { detector.threshold.point.encode(into: &$0) }
    let trendEnd = pointEnd + length { detector.threshold.trend.encode(into: &$0) }
    let gateEnd =
      fullConfigurationEnd + 8 + 8 + length { detector.normaliser.encode(into: &$0) }
      + length { detector.threshold.encode(into: &$0) } + length { detector.gate.encode(into: &$0) }
    let rangesEnd = gateEnd + length { $0.write(detector.rangeLow) } + length { $0.write(detector.rangeHigh) }
    // A univariate scorer ends with the flag that says it has no channel tail.
    let scorerEnd = gateEnd - length { detector.gate.encode(into: &$0) }
    // The gate's five version-2 fields come first, its recurring-burst fields after them.
    let gateVersionTwoEnd = scorerEnd + 1 + 8 + 8 + 8 + 8
    let removedByVersionFour = [slowFlagStart..<(slowFlagStart + 1), configurationEnd..<(fullConfigurationEnd - 40)]
    var removed = [
      rangesEnd..<(rangesEnd + length { detector.stuck.encode(into: &$0) }),
      gateVersionTwoEnd..<gateEnd,
      (scorerEnd - 1)..<scorerEnd,
      (trendEnd - 8)..<trendEnd, (pointEnd - 8)..<pointEnd,
      (configurationEnd - (version == 1 ? 32 : 24))..<configurationEnd,
    ]
    if version == 1 { removed.append((gateVersionTwoEnd - 8)..<gateVersionTwoEnd) }
    if version == 3 { removed = [] }
    return removing(removed + removedByVersionFour + removedByVersionFive + removedByVersionSix + removedByVersionSeven)
  }

  /// A sample count near 2^64 behind a valid checksum would make the next sample's increment
  /// trap inside a worker (the state fuzzer found it): such a checkpoint is refused.
  func testCountersThatWouldOverflowAreRefused() throws {
    let detector = StreamDetector(configuration: DetectorConfiguration(), channels: 1)
    for values in makeSeries(50, channels: 1) {
      _ = values.withUnsafeBufferPointer { detector.process($0, DetectorWorkspace()) }
    }
    var payload = Array(detector.encodeState().dropFirst(10).dropLast(4))
    var w = StateWriter()
    detector.configuration.encode(into: &w)
    let samplesAt = w.bytes.count + 8
    for i in 0..<8 { payload[samplesAt + i] = 0xFF }
    var blob = StateWriter()
    for b in Array("ADST".utf8) { blob.write(b) }
    blob.write(StreamDetector.stateVersion)
    blob.write(UInt32(payload.count))
    for b in payload { blob.write(b) }
    blob.write(CRC32.checksum(payload[...]))
    XCTAssertThrowsError(try StreamDetector.decodeState(blob.bytes)) { error in
      XCTAssertTrue("\(error)".contains("out of range"), "\(error)")
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

extension DetectorConfiguration {
  /// The default configuration with every rule that format `version` predates turned off:
  /// what a checkpoint of that version restores to.
  static func restored(from version: UInt16) -> DetectorConfiguration {
    var configuration = DetectorConfiguration()
    if version < 11 { configuration.discreteValues = 0 }
    if version < 8 { configuration.historyLength = 0 }
    if version < 7 { configuration.readoutMemory = 0 }
    if version < 6 {
      configuration.crossChannelLimit = 0
      configuration.relearnFraction = 0
    }
    if version < 5 { configuration.seasonalCorrelation = 0 }
    if version < 4 { configuration.slowBlock = 0 }
    if version < 3 {
      configuration.stuckMinimumRun = 0
      configuration.thresholdCatchUp = 0
      configuration.alarmRecurringTolerance = 0
    }
    if version < 2 { configuration.alarmEscalation = 0 }
    return configuration
  }
}

/// A checkpoint of `version` around `payload`: magic, version, length, payload, CRC.
func withHeader(_ payload: [UInt8], version: UInt16) -> [UInt8] {
  var out = StateWriter()
  for b in Array("ADST".utf8) { out.write(b) }
  out.write(version)
  out.write(UInt32(payload.count))
  for b in payload { out.write(b) }
  out.write(CRC32.checksum(payload[...]))
  return out.bytes
}
