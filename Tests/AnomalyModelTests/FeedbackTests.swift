import XCTest

@testable import AnomalyModel

/// A false alarm marked normal stops alarming in the same situation, while a fault of the same
/// size in another situation still does; the mark survives a checkpoint and a reset removes it.
final class FeedbackTests: XCTestCase {
  static let period = 50

  /// A sine with small noise; `blips` adds +6 (about four of its standard deviations) there.
  func value(_ i: Int, blips: Set<Int>, rng: inout SplitMix64) -> Double {
    20 + 2 * sin(2 * Double.pi * Double(i) / Double(Self.period)) + 0.05 * gaussian(&rng) + (blips.contains(i) ? 6 : 0)
  }

  /// Feeds readings `range`, returning the indices that raised an event.
  func run(_ detector: StreamDetector, _ range: Range<Int>, blips: Set<Int>, rng: inout SplitMix64) -> [Int] {
    let workspace = DetectorWorkspace()
    var events: [Int] = []
    for i in range {
      let v = value(i, blips: blips, rng: &rng)
      if [v].withUnsafeBufferPointer({ detector.process($0, workspace) }).anomaly { events.append(i) }
    }
    return events
  }

  func testAMarkedFalseAlarmStopsWhileTheSameFaultElsewhereFires() throws {
    // The blip recurs at phase 10 of cycles 20, 30 and 40; a real fault of the same size hits
    // phase 35 of cycle 45.
    let (first, again, third, elsewhere) = (20 * 50 + 10, 30 * 50 + 10, 40 * 50 + 10, 45 * 50 + 35)
    let blips: Set = [first, again, third, elsewhere]
    let end = 47 * 50

    // Without feedback, every one of them is an event.
    var rng = SplitMix64(seed: 4)
    let plain = StreamDetector(configuration: DetectorConfiguration(), channels: 1)
    XCTAssertEqual(run(plain, 0..<end, blips: blips, rng: &rng), [first, again, third, elsewhere])

    // With the first marked a false alarm, only the fault elsewhere is.
    rng = SplitMix64(seed: 4)
    let marked = StreamDetector(configuration: DetectorConfiguration(), channels: 1)
    XCTAssertEqual(run(marked, 0..<(first + 1), blips: blips, rng: &rng), [first])
    let pattern = try XCTUnwrap(marked.eventPattern())
    XCTAssertTrue(marked.acceptAsNormal(pattern))
    XCTAssertEqual(run(marked, (first + 1)..<end, blips: blips, rng: &rng), [elsewhere])
    XCTAssertEqual(marked.accepted.suppressed, 2)

    // The mark is part of the checkpoint.
    let restored = try StreamDetector.decodeState(marked.encodeState())
    XCTAssertEqual(restored.accepted, marked.accepted)
    // A reset forgets it with everything else.
    restored.reset()
    XCTAssertTrue(restored.accepted.isEmpty)
    // A pattern of another shape is refused.
    XCTAssertFalse(marked.acceptAsNormal([1, 2, 3]))
  }
}
