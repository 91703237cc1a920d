#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Notices a sensor that stopped changing: a run of exactly repeated readings that is longer
/// than the stream has shown before and improbable under the stream's own repeat statistics.
///
/// The reconstruction cannot see this fault. A frozen reading is the easiest input there is to
/// predict, so its errors shrink exactly when the sensor dies; the evidence has to come from
/// the readings themselves, as the range check's does.
///
/// Per channel, over the stream's life, it learns how often a reading repeats the one before
/// when that one was new (`pStart`), and how often a repeat is followed by another (`pContinue`),
/// both by Laplace's rule of succession (one pseudo-count each way, so an unseen event is rare,
/// never impossible). Under those statistics a run of `k` repeats has probability
/// `pStart · pContinue^(k−1)`, and its surprise is −log10 of that, in the same units as the
/// error tails'.
///
/// A run counts as evidence only when it is at least `minimumRun` long and more than twice the
/// longest run the channel has completed. Run lengths are heavy-tailed in real data (a quiet
/// night of zero counts, a machine idling): a geometric model alone would flag the first
/// quiet night longer than the average one.
///
/// What separates a frozen sensor from a normal plateau is mostly the value: nights sit at the
/// same floor every time, a sensor freezes wherever it happened to be. So the longest run is
/// also remembered per value, for the few values with the longest runs (`plateauMemory`), and
/// a run at such a value is measured against that value's longest run too. A completed run
/// that reached the alarm level is learned in full for its value, and at `learningFactor`
/// (the detector's `anomaly_learning_factor`) for the channel as a whole, as the model learns
/// from anomalous points: a recurring plateau is reported once, and a second frozen spell at
/// another value, as long as the first, is still reported.
///
/// A channel that has repeated its first reading ever since is not checked: it is a constant
/// (a configured limit, an unused counter), and a stream of 38 server metrics with eight such
/// channels otherwise sat at the stuck surprise for good and raised no event at all.
///
/// The surprise is capped half a decade above the alarm level: a frozen sensor is one
/// incident however long it lasts, so it raises one event and never escalates by itself.
public struct StuckReadingCheck: Sendable, Equatable {
  struct Channel: Sendable, Equatable {
    var last = 0.0
    var hasLast = false
    /// Repeats of `last` so far (0: the last reading differed from the one before).
    var run = 0
    /// Whether the current run has reached the alarm level.
    var runAlarmed = false
    /// The longest completed run, alarmed runs counted at the learning factor.
    var longestRun = 0.0
    /// The values with the longest completed runs, and those runs (parallel arrays, at most
    /// `plateauMemory` long).
    var plateauValues: [Double] = []
    var plateauRuns: [Double] = []
    /// Readings that followed a new reading, and how many of them repeated it.
    var startChances = 0.0
    var starts = 0.0
    /// Readings that followed a repeat, in completed runs, and how many repeated again.
    var continueChances = 0.0
    var continues = 0.0
  }

  /// How many plateau values each channel remembers.
  static let plateauMemory = 4

  public let minimumRun: Int
  public let learningFactor: Double
  var channels: [Channel]

  /// `minimumRun` 0 turns the check off.
  public init(channels: Int, minimumRun: Int, learningFactor: Double) {
    self.minimumRun = minimumRun
    self.learningFactor = learningFactor
    self.channels = Array(repeating: Channel(), count: minimumRun > 0 ? channels : 0)
  }

  /// Learns from one sample and returns the surprise (−log10 probability) of the most
  /// surprising qualifying run it extends, 0 when no channel is stuck. `alarmLevel` nil (the
  /// detector's warm-up): learn only, every run counted as normal.
  public mutating func update(_ values: UnsafeBufferPointer<Double>, alarmLevel: Double?) -> Double {
    guard minimumRun > 0 else { return 0 }
    var surprise = 0.0
    for c in channels.indices {
      let value = values[c]
      let channelSurprise = channels[c].update(
        value, minimumRun: minimumRun, alarmLevel: alarmLevel, learningFactor: learningFactor)
      surprise = Swift.max(surprise, channelSurprise)
    }
    guard let alarmLevel else { return 0 }
    return Swift.min(surprise, alarmLevel + 0.5)
  }

  /// The longest current run of repeats over the channels (`anomalyctl stream` shows it).
  public var currentRun: Int { channels.map(\.run).max() ?? 0 }
}

extension StuckReadingCheck.Channel {
  mutating func update(
    _ value: Double, minimumRun: Int, alarmLevel: Double?, learningFactor: Double
  ) -> Double {
    guard hasLast else {
      (last, hasLast) = (value, true)
      return 0
    }
    let repeated = value == last
    if run == 0 {
      startChances += 1
      if repeated { starts += 1 }
    }
    if repeated {
      run += 1
    } else {
      if run > 0 { completeRun(learningFactor: learningFactor) }
      last = value
      return 0
    }
    // A channel that has never shown another value is a constant (a limit, a setting), not
    // a sensor that stopped: only its first reading opened a run (`startChances` 1).
    guard let alarmLevel, run >= minimumRun, startChances > 1, Double(run) > 2 * longestRun,
      Double(run) > 2 * plateauRun(at: value)
    else { return 0 }
    let pStart = (starts + 1) / (startChances + 2)
    let pContinue = (continues + 1) / (continueChances + 2)
    let surprise = -log10(pStart) - Double(run - 1) * log10(pContinue)
    if surprise > alarmLevel { runAlarmed = true }
    return surprise
  }

  /// A run of `run` repeats ended: `run − 1` of its readings were followed by another repeat,
  /// the last one by a new reading.
  private mutating func completeRun(learningFactor: Double) {
    continues += Double(run - 1)
    continueChances += Double(run)
    let weight = runAlarmed ? learningFactor : 1
    longestRun += weight * Swift.max(0, Double(run) - longestRun)
    rememberPlateau(last, Double(run))
    run = 0
    runAlarmed = false
  }

  func plateauRun(at value: Double) -> Double {
    plateauValues.firstIndex(of: value).map { plateauRuns[$0] } ?? 0
  }

  /// Keeps the `plateauMemory` values with the longest runs.
  private mutating func rememberPlateau(_ value: Double, _ length: Double) {
    if let i = plateauValues.firstIndex(of: value) {
      plateauRuns[i] = Swift.max(plateauRuns[i], length)
    } else if plateauValues.count < StuckReadingCheck.plateauMemory {
      plateauValues.append(value)
      plateauRuns.append(length)
    } else if let shortest = plateauRuns.indices.min(by: { plateauRuns[$0] < plateauRuns[$1] }),
      plateauRuns[shortest] < length
    {
      plateauValues[shortest] = value
      plateauRuns[shortest] = length
    }
  }
}

extension StuckReadingCheck {
  func encode(into w: inout StateWriter) {
    w.write(channels.count)
    for ch in channels {
      w.write(ch.last)
      w.write(ch.hasLast)
      w.write(ch.run)
      w.write(ch.runAlarmed)
      w.write(ch.longestRun)
      for v in [ch.startChances, ch.starts, ch.continueChances, ch.continues] { w.write(v) }
      w.write(ch.plateauValues)
      w.write(ch.plateauRuns)
    }
  }

  mutating func decode(from r: inout StateReader) throws(StateError) {
    let count = try r.readInt()
    guard count == channels.count else { throw .invalid("stuck-reading channels") }
    for c in 0..<count {
      var ch = Channel()
      ch.last = try r.readDouble()
      ch.hasLast = try r.readBool()
      ch.run = try r.readCounter()
      ch.runAlarmed = try r.readBool()
      ch.longestRun = try r.readDouble()
      ch.startChances = try r.readDouble()
      ch.starts = try r.readDouble()
      ch.continueChances = try r.readDouble()
      ch.continues = try r.readDouble()
      ch.plateauValues = try r.readDoubles(max: StuckReadingCheck.plateauMemory)
      ch.plateauRuns = try r.readDoubles(max: StuckReadingCheck.plateauMemory)
      let counts = [ch.longestRun, ch.startChances, ch.starts, ch.continueChances, ch.continues] + ch.plateauRuns
      guard counts.allSatisfy({ $0 >= 0 && $0.isFinite }),
        ch.plateauValues.count == ch.plateauRuns.count,
        ch.starts <= ch.startChances, ch.continues <= ch.continueChances
      else { throw .invalid("stuck-reading counts") }
      channels[c] = ch
    }
  }
}
