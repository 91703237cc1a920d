import XCTest

@testable import AnomalyModel

/// The history attention keeps every lag's distance exactly, retrieves the same phase of
/// earlier cycles, and finds a stretch unlike any before it.
final class HistoryAttentionTests: XCTestCase {
  func makeAttention(length: Int, match: Int, channels: Int) -> HistoryAttention {
    var configuration = DetectorConfiguration()
    configuration.historyLength = length
    configuration.historyMatch = match
    return HistoryAttention(configuration: configuration, channels: channels)
  }

  /// A waveform with a sharp beat and an uneven plateau, `period` readings long.
  func cycle(_ i: Int, period: Int) -> Float {
    let phase = Float(i % period) / Float(period)
    let beat = exp(-pow((phase - 0.3) / 0.03, 2)) * 3
    return beat + (phase > 0.6 ? 0.5 : -0.2) + 0.3 * sin(6.283 * phase)
  }

  /// After thousands of readings and several wraps of the ring, every lag's distance equals
  /// the sum of squared differences computed from the readings themselves.
  func testDistancesMatchADirectSum() {
    let (length, match, channels) = (64, 8, 3)
    let attention = makeAttention(length: length, match: match, channels: channels)
    var rng = SplitMix64(seed: 3)
    var history: [[Float]] = []
    for _ in 0..<2000 {
      let reading = (0..<channels).map { _ in Float(gaussian(&rng)) * 2 + 5 }
      history.append(reading)
      _ = reading.withUnsafeBufferPointer { attention.add($0.baseAddress!) }
    }
    let t = history.count - 1
    for lag in 1...length {
      var direct: Float = 0
      for k in 0..<match {
        for c in 0..<channels {
          let d = history[t - k][c] - history[t - k - lag][c]
          direct += d * d
        }
      }
      XCTAssertEqual(attention.distance(lag: lag), direct, accuracy: 1e-4 * direct, "lag \(lag)")
    }
  }

  /// On a repeating waveform the retrieved reading is the one that followed the same phase
  /// in earlier cycles, 97 and more readings back, beyond the model's own window of 32 steps:
  /// the heaviest lags are multiples of the period, and the retrieval misses by a small
  /// fraction of what the last reading (persistence) does (measured: 0.23 of it; the misses
  /// are the softmax's blur of neighbouring phases at the sharp beat).
  func testRetrievesTheSamePhaseOfEarlierCycles() {
    let period = 97
    let attention = makeAttention(length: 512, match: 32, channels: 1)
    var weights = [Float](repeating: 0, count: 512)
    var (retrievalError, persistenceError): (Float, Float) = (0, 0)
    for i in 0..<(6 * period) {
      let value = cycle(i, period: period)
      if i >= 3 * period {
        var retrieved: Float = 0
        _ = weights.withUnsafeMutableBufferPointer { attention.retrieve(into: &retrieved, weights: $0.baseAddress!) }
        retrievalError += abs(retrieved - value)
        persistenceError += abs(cycle(i - 1, period: period) - value)
        // weights[j] belongs to lag match + j.
        let heaviest = 32 + weights[0..<(512 - 32)].indices.max { weights[$0] < weights[$1] }!
        XCTAssertEqual(heaviest % period, 0, "at \(i), lag \(heaviest)")
      }
      _ = [value].withUnsafeBufferPointer { attention.add($0.baseAddress!) }
    }
    XCTAssertLessThan(retrievalError, 0.3 * persistenceError)
  }

  /// A cycle played with its beat missing is far from every earlier stretch: its novelty is
  /// many times the largest novelty of the ordinary cycles around it.
  func testNoveltyRisesOnAStretchNeverSeenBefore() {
    let period = 80
    let attention = makeAttention(length: 512, match: 32, channels: 1)
    var rng = SplitMix64(seed: 5)
    var (ordinary, faulty): (Double, Double) = (0, 0)
    for i in 0..<(12 * period) {
      let faultyCycle = i / period == 9
      let phase = Float(i % period) / Float(period)
      var value = cycle(i, period: period) + 0.02 * Float(gaussian(&rng))
      if faultyCycle && phase > 0.2 && phase < 0.4 { value = 0.3 * sin(6.283 * phase) - 0.2 }
      let novelty = [value].withUnsafeBufferPointer { attention.add($0.baseAddress!) }
      if i >= 3 * period && !faultyCycle { ordinary = max(ordinary, novelty) }
      if faultyCycle { faulty = max(faulty, novelty) }
    }
    XCTAssertGreaterThan(faulty, 5 * ordinary)
  }

  /// The detector's reconstruction draws on the history: on a waveform of period 150 its mean
  /// error is at least a fifth lower with the history attention (measured: 0.120 against
  /// 0.181).
  func testTheDetectorReconstructsBetterWithTheHistory() {
    func meanError(historyLength: Int) -> Double {
      var configuration = DetectorConfiguration()
      configuration.historyLength = historyLength
      let detector = StreamDetector(configuration: configuration, channels: 1)
      let workspace = DetectorWorkspace()
      var rng = SplitMix64(seed: 9)
      var total = 0.0
      for i in 0..<3000 {
        let value = Double(cycle(i, period: 150)) + 0.02 * gaussian(&rng)
        let scored = [value].withUnsafeBufferPointer { detector.process($0, workspace) }
        if i >= 2000 { total += scored.error }
      }
      return total / 1000
    }
    XCTAssertLessThan(meanError(historyLength: 512), 0.8 * meanError(historyLength: 0))
  }

  /// What an event shows as the moments the reconstruction drew on: on a periodic stream,
  /// whole cycles back (the same phase of earlier cycles), with weights that sum to at most 1;
  /// and none for a stream without the history attention.
  func testAttentionMomentsAreWholeCyclesBack() {
    let period = 40
    let detector = StreamDetector(configuration: DetectorConfiguration(), channels: 1)
    let workspace = DetectorWorkspace()
    var rng = SplitMix64(seed: 5)
    for i in 0..<1200 {
      let value = Double(cycle(i, period: period)) + 0.01 * gaussian(&rng)
      _ = [value].withUnsafeBufferPointer { detector.process($0, workspace) }
    }
    let moments = workspace.attentionMoments(count: 3)
    XCTAssertEqual(moments.count, 3)
    for moment in moments {
      XCTAssertEqual(moment.readingsBack % period, 0, "\(moments)")
      XCTAssertGreaterThan(moment.weight, 0.05)
    }
    XCTAssertLessThanOrEqual(moments.map(\.weight).reduce(0, +), 1 + 1e-9)
    XCTAssertEqual(moments.map(\.weight), moments.map(\.weight).sorted(by: >))

    var without = DetectorConfiguration()
    without.historyLength = 0
    let plain = StreamDetector(configuration: without, channels: 1)
    _ = [1.0].withUnsafeBufferPointer { plain.process($0, workspace) }
    XCTAssertEqual(workspace.attentionMoments(count: 3), [])
  }
}
