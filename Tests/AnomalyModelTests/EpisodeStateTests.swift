import XCTest

@testable import AnomalyModel

/// The episode state lasts as long as a fault does, ends soon after a spike, and gives a new
/// level up after `threshold_window` readings; the gate still raises one event per incident.
final class EpisodeStateTests: XCTestCase {
  /// Noise around 10; `shift` added to readings in `shifted`.
  func feed(
    _ detector: StreamDetector, _ range: Range<Int>, shifted: Range<Int> = 0..<0, shift: Double = 0,
    rng: inout SplitMix64
  ) -> (events: [Int], open: [Bool], gateOpen: [Bool]) {
    let workspace = DetectorWorkspace()
    var events: [Int] = []
    var open: [Bool] = []
    var gateOpen: [Bool] = []
    for i in range {
      let value = 10 + gaussian(&rng) + (shifted.contains(i) ? shift : 0)
      if [value].withUnsafeBufferPointer({ detector.process($0, workspace) }).anomaly { events.append(i) }
      open.append(detector.isAnomalousNow)
      gateOpen.append(detector.gate.inEpisode)
    }
    return (events, open, gateOpen)
  }

  func testALastingFaultIsFlaggedForItsDurationAndASpikeBriefly() {
    var rng = SplitMix64(seed: 11)
    let detector = StreamDetector(configuration: DetectorConfiguration(), channels: 1)
    _ = feed(detector, 0..<1000, rng: &rng)
    // A level shift of 6 standard deviations for 300 readings.
    let fault = feed(detector, 1000..<1400, shifted: 1000..<1300, shift: 6, rng: &rng)
    XCTAssertEqual(fault.events.first, 1000)
    XCTAssertEqual(fault.events.count, 1, "\(fault.events)")
    // The state is open through the whole fault, though the gate's episode closed long before.
    XCTAssertTrue(fault.open[0..<300].allSatisfy { $0 })
    XCTAssertLessThan(fault.gateOpen[0..<300].filter { $0 }.count, 150)
    // It closes within a few dozen readings of the fault's end.
    XCTAssertFalse(fault.open[340..<400].contains(true))

  }

  func testASpikeIsFlaggedBriefly() {
    var rng = SplitMix64(seed: 13)
    let detector = StreamDetector(configuration: DetectorConfiguration(), channels: 1)
    _ = feed(detector, 0..<1000, rng: &rng)
    let spike = feed(detector, 1000..<1060, shifted: 1000..<1001, shift: 10, rng: &rng)
    XCTAssertEqual(spike.events, [1000])
    XCTAssertTrue(spike.open[0])
    // The state follows the gate's episode (its trend tail keeps it open a while after a
    // spike) and ends with it: the readings are back at their level.
    let gateEnd = spike.gateOpen.lastIndex(of: true) ?? 0
    let stateEnd = spike.open.lastIndex(of: true) ?? 0
    XCTAssertLessThan(gateEnd, 50)
    XCTAssertLessThanOrEqual(stateEnd, gateEnd + 1, "state \(stateEnd), gate \(gateEnd)")
  }

  func testANewLevelBecomesNormalAfterTheThresholdWindow() {
    var configuration = DetectorConfiguration()
    configuration.thresholdWindow = 512
    var rng = SplitMix64(seed: 12)
    let detector = StreamDetector(configuration: configuration, channels: 1)
    _ = feed(detector, 0..<1000, rng: &rng)
    let shifted = feed(detector, 1000..<2200, shifted: 1000..<2200, shift: 6, rng: &rng)
    XCTAssertEqual(shifted.events.first, 1000)
    XCTAssertTrue(shifted.open[0..<400].allSatisfy { $0 })
    XCTAssertFalse(shifted.open[600..<1200].contains(true))
  }
}
