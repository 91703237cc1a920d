import XCTest

@testable import AnomalyModel

/// Alarms on synthetic series with known anomalies, and the false-alarm rate on clean noise.
final class ThresholdTests: XCTestCase {
  func testSpikesRaiseOneEventEach() {
    var rng = SplitMix64(seed: 11)
    // Not equally spaced: four spikes at one interval would be a rhythm (see
    // testRecurringBurstsStopRaisingEvents).
    let spikes: Set<Int> = [1500, 2600, 3900, 4800]
    let series = (0..<6000).map { i -> [Double] in
      let base = 50 + 10 * sin(Double(i) * 2 * .pi / 96) + gaussian(&rng)
      return [spikes.contains(i) ? base + 25 : base]
    }
    let events = detect(series).enumerated().filter { $0.element.anomaly }.map(\.offset)
    for spike in spikes {
      XCTAssertTrue(
        events.contains { (spike...(spike + 2)).contains($0) }, "spike at \(spike) missed; events \(events)")
    }
    let falseAlarms = events.filter { e in !spikes.contains { (($0)...($0 + 10)).contains(e) } }
    XCTAssertLessThanOrEqual(falseAlarms.count, 3, "false alarms at \(falseAlarms)")
  }

  func testLevelShiftIsFlaggedPromptly() {
    var rng = SplitMix64(seed: 12)
    let shiftAt = 3000
    let series = (0..<5000).map { i in [(i >= shiftAt ? 8.0 : 0) + gaussian(&rng)] }
    let events = detect(series).enumerated().filter { $0.element.anomaly }.map(\.offset)
    XCTAssertTrue(events.contains { (shiftAt..<(shiftAt + 5)).contains($0) }, "level shift missed; events \(events)")
  }

  /// Bound: on 50,000 points of clean white noise, fewer than 1 event per 2,000 points.
  func testFalseAlarmRateOnCleanNoiseStaysLow() {
    var rng = SplitMix64(seed: 13)
    let count = 50_000
    let series = (0..<count).map { _ in [gaussian(&rng)] }
    let events = detect(series).filter(\.anomaly).count
    XCTAssertLessThan(Double(events) / Double(count), 1.0 / 2000, "\(events) events on clean noise")
  }

  /// A spike in one channel of three that follow one shared process (a machine's readings):
  /// the root mean square over the channels dilutes it, the channel tail (the largest single
  /// channel's error) does not. Measured: 6 of 6 spikes above the threshold with the channel
  /// tail, 2 of 6 with the root mean square alone. The cross-channel check, which sees the
  /// same spikes as a channel leaving its siblings, is off here so that the channel tail is
  /// what is tested.
  func testASpikeInOneChannelIsFound() {
    var rng = SplitMix64(seed: 16)
    let spikes = [2300, 2700, 3100, 3500, 3900, 4300]
    var z = 0.0
    let series = (0..<4500).map { i -> [Double] in
      z = 0.95 * z + 0.3 * gaussian(&rng)
      let latent = 2 * sin(Double(i) * 2 * .pi / 288) + z
      return (0..<3).map { c in
        let value = [20.0, 5, 40][c] + [1.0, 0.6, -0.8][c] * latent + [0.2, 0.15, 0.25][c] * gaussian(&rng)
        return c == 2 && spikes.contains(i) ? value + 3 : value
      }
    }
    // Above the threshold, whether or not an event fires (the cooldown of an earlier one may
    // hold it back): this is about the score.
    var configuration = DetectorConfiguration()
    configuration.crossChannelLimit = 0
    let results = detect(series, configuration: configuration)
    XCTAssertGreaterThanOrEqual(spikes.filter { results[$0].aboveThreshold }.count, 5)
    XCTAssertTrue(spikes.contains { results[$0].reason == .channel }, "\(spikes.map { results[$0].reason })")
  }

  /// A fit calibrated on a young model's errors (here four times the later ones) comes down
  /// once the errors shrink. With the catch-up its tail start reaches the new errors' `level`
  /// quantile (1.64 for |N(0, 1)|) within 3,000 readings, and the alarm level follows; without
  /// it, the tail start is still above every new error.
  func testStaleFitCatchesUp() {
    func fit(after count: Int, catchUp: Double) -> TailThreshold {
      var rng = SplitMix64(seed: 14)
      var tail = TailThreshold(level: 0.9, risk: 1e-3, memory: 2048, refitInterval: 16, catchUp: catchUp)
      for _ in 0..<150 { tail.record(4 * abs(gaussian(&rng))) }
      tail.calibrate()
      for _ in 0..<count { _ = tail.score(abs(gaussian(&rng))) }
      return tail
    }
    let caughtUp = fit(after: 3000, catchUp: 30)
    let stale = fit(after: 3000, catchUp: 0)
    XCTAssertEqual(caughtUp.tailStart, 1.64, accuracy: 0.4)
    XCTAssertGreaterThan(stale.tailStart, 3.5)
    XCTAssertLessThan(caughtUp.alarmError, stale.alarmError - 2)
    // On errors that fit, the catch-up never triggers: the same level either way.
    var rng = SplitMix64(seed: 15)
    var with = TailThreshold(level: 0.9, risk: 1e-3, memory: 2048, refitInterval: 16, catchUp: 30)
    var without = TailThreshold(level: 0.9, risk: 1e-3, memory: 2048, refitInterval: 16)
    for _ in 0..<500 {
      let e = abs(gaussian(&rng))
      with.record(e)
      without.record(e)
    }
    with.calibrate()
    without.calibrate()
    for _ in 0..<20_000 {
      let e = abs(gaussian(&rng))
      XCTAssertEqual(with.score(e), without.score(e))
    }
  }

  /// When one channel makes the joint error, the channel tail is not asked: a point far out
  /// only in the largest-channel error is not reported as `channel` (in a detector the two
  /// errors are then one number; here they differ, to see which tail decides).
  func testTheChannelTailIsNotAskedWhenOneChannelMakesTheJointError() {
    var scorer = ErrorScorer(configuration: DetectorConfiguration(), channels: 3)
    var rng = SplitMix64(seed: 4)
    func error() -> Double { 1 + gaussian(&rng).magnitude }
    for _ in 0..<2000 { scorer.record(error(), largestChannelError: error()) }
    scorer.calibrate()
    var other = scorer
    let asked = other.score(error(), largestChannelError: 40)
    XCTAssertEqual(asked.reason, .channel)
    XCTAssertTrue(asked.above)
    let notAsked = scorer.score(error(), largestChannelError: 40, jointIsOneChannel: true)
    XCTAssertNotEqual(notAsked.reason, .channel)
    XCTAssertFalse(notAsked.above)
  }

  func testTailThresholdMatchesAKnownExponentialTail() {
    // For Exp(1) errors, P(X > z) = risk gives z = −ln(risk) = 6.91 for risk 1e-3.
    var threshold = TailThreshold(level: 0.9, risk: 1e-3, memory: 4096, refitInterval: 64)
    var rng = SplitMix64(seed: 21)
    func exponential() -> Double { -log(max(Double(rng.next() >> 11) / Double(1 << 53), 1e-300)) }
    for _ in 0..<4096 { threshold.record(exponential()) }
    threshold.calibrate()
    XCTAssertEqual(threshold.alarmError, -log(1e-3), accuracy: 1.2)
    XCTAssertEqual(threshold.tailStart, -log(0.1), accuracy: 0.15)
    XCTAssertEqual(threshold.probabilityBelow(threshold.alarmError), 1 - 1e-3, accuracy: 1e-6)
    XCTAssertEqual(threshold.logExceedance(threshold.alarmError), log(1e-3), accuracy: 1e-9)
    XCTAssertLessThan(threshold.logExceedance(1000), -50, "far tail must not round to probability 0")
    XCTAssertLessThan(threshold.logExceedance(1000), threshold.logExceedance(500))
    // Streaming: the running fit stays near the truth over 100,000 more errors…
    for _ in 0..<100_000 { _ = threshold.score(exponential()) }
    XCTAssertEqual(threshold.alarmError, -log(1e-3), accuracy: 1.2)
    XCTAssertEqual(threshold.tailStart, -log(0.1), accuracy: 0.3)
    // …and follows a stream whose errors become three times larger.
    for _ in 0..<40_000 { _ = threshold.score(3 * exponential()) }
    XCTAssertEqual(threshold.alarmError, -3 * log(1e-3), accuracy: 3.6)
    XCTAssertLessThan(threshold.probabilityBelow(1), threshold.probabilityBelow(3))
  }

  func testAlarmGateGivesOneEventPerEpisode() {
    var gate = AlarmGate(consecutive: 2, recovery: 3, cooldown: 0)
    let pattern: [Bool] = [false, true, true, true, true, false, true, false, false, false, true, true]
    let fired = pattern.map { gate.update(above: $0) }
    XCTAssertEqual(fired, [false, false, true, false, false, false, false, false, false, false, false, true])
  }

  /// A spike at the same time every day (288 points apart, give or take a few): the first
  /// three are reported, the rest are a rhythm. A spike off the rhythm, and a repetition that
  /// escalates, are still reported; with the rule off every repetition is.
  func testRecurringBurstsStopRaisingEvents() {
    func events(tolerance: Double, extra: [(Int, Double)] = []) -> [Int] {
      var gate = AlarmGate(consecutive: 1, recovery: 10, cooldown: 100, escalation: 1, recurringTolerance: tolerance)
      var rhythm: [Int: Double] = [:]
      for day in 0..<8 { rhythm[500 + 288 * day + [0, 3, -2, 4, -1, 2, 0, -3][day]] = 4 }
      for (at, surprise) in extra { rhythm[at] = surprise }
      return (0..<3000).filter { i in gate.update(above: rhythm[i] != nil, surprise: rhythm[i] ?? 0) }
    }
    XCTAssertEqual(events(tolerance: 0.1), [500, 791, 1074])
    XCTAssertEqual(events(tolerance: 0).count, 8)
    // A repetition ten times less probable than the last event: an escalation.
    XCTAssertEqual(events(tolerance: 0.1, extra: [(1942, 5.5)]), [500, 791, 1074, 1942])
    // Off the rhythm: a new incident. It also breaks the rhythm, which is learned again from
    // the bursts after it (three more events before the silence resumes).
    XCTAssertEqual(events(tolerance: 0.1, extra: [(1500, 4)]), [500, 791, 1074, 1500, 1651, 1942, 2228])
  }

  func testCooldownSilencesRepeatsButNotAnEscalation() {
    // Event at surprise 3.2; within the 100-point cooldown, a repeat (3.5) stays silent and a
    // point ten times less probable again (4.3 ≥ 3.2 + 1) raises a new event.
    var gate = AlarmGate(consecutive: 1, recovery: 3, cooldown: 100, escalation: 1)
    XCTAssertTrue(gate.update(above: true, surprise: 3.2))
    for _ in 0..<10 { XCTAssertFalse(gate.update(above: false)) }
    XCTAssertFalse(gate.update(above: true, surprise: 3.5))
    for _ in 0..<10 { XCTAssertFalse(gate.update(above: false)) }
    XCTAssertTrue(gate.update(above: true, surprise: 4.3))
    XCTAssertEqual(gate.eventSurprise, 4.3)
    // Inside the episode it opened, even a far larger surprise is the same incident.
    XCTAssertFalse(gate.update(above: true, surprise: 9))
    // Escalation off: the cooldown silences everything.
    var silent = AlarmGate(consecutive: 1, recovery: 3, cooldown: 100, escalation: 0)
    XCTAssertTrue(silent.update(above: true, surprise: 3.2))
    for _ in 0..<10 { _ = silent.update(above: false) }
    XCTAssertFalse(silent.update(above: true, surprise: 40))
    // Nothing outdoes an event at infinite surprise within its cooldown.
    var infinite = AlarmGate(consecutive: 1, recovery: 1, cooldown: 100, escalation: 1)
    XCTAssertTrue(infinite.update(above: true, surprise: .infinity))
    XCTAssertFalse(infinite.update(above: false))
    XCTAssertFalse(infinite.update(above: true, surprise: .infinity))
  }

  /// A small excursion raises an event; a far larger one 40 points later, within the cooldown,
  /// must not be swallowed by it.
  func testALargerAnomalyDuringTheCooldownIsReported() {
    var rng = SplitMix64(seed: 14)
    let series = (0..<3000).map { i -> [Double] in
      let base = gaussian(&rng)
      return [i == 2000 ? base + 6 : (i == 2040 ? base + 60 : base)]
    }
    let events = detect(series).enumerated().filter { $0.element.anomaly }.map(\.offset)
    XCTAssertTrue(events.contains(2000), "events \(events)")
    XCTAssertTrue(events.contains(2040), "events \(events)")
    var off = DetectorConfiguration()
    off.alarmEscalation = 0
    let silenced = detect(series, configuration: off).enumerated().filter { $0.element.anomaly }.map(\.offset)
    XCTAssertTrue(silenced.contains(2000), "events \(silenced)")
    XCTAssertFalse(silenced.contains(2040), "events \(silenced)")
  }
}
