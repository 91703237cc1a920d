/// Hysteresis between "this point is above the threshold" and "raise an anomaly event".
///
/// A burst of exceedances is one incident, and an operator wants one event for it, not fifty.
/// An event fires when `consecutive` points in a row exceed the threshold, no episode is open
/// and at least `cooldown` points passed since the previous event. The episode stays open until
/// `recovery` consecutive points are back below the threshold.
///
/// Escalation: the cooldown stops repeats of an incident, not a worse one. Outside an episode
/// but within the cooldown, an exceedance whose surprise (−log10 of its probability) is at
/// least `escalation` above that of the point that raised the last event raises a new event.
/// Without it, a false alarm on a small deviation silences the large one that follows.
///
/// Recurring bursts: a burst of exceedances (after at least `recovery` quiet points) that
/// starts one interval after the previous burst, when the two intervals before were the same
/// within `recurringTolerance` of it, is a rhythm: a nightly batch job, an hourly cron
/// spike. The model's window is too short to learn a daily pattern, so without this every
/// repetition was an event (13 a file in two NAB series). Such a burst raises no event unless
/// it escalates; the fourth and later repetitions are silenced, the first three reported.
public struct AlarmGate: Sendable, Equatable {
  public let consecutive: Int
  public let recovery: Int
  public let cooldown: Int
  public let escalation: Double
  /// How far (a fraction of the interval) the intervals between bursts may differ and still
  /// count as one rhythm; 0 turns the rule off.
  public let recurringTolerance: Double

  public private(set) var inEpisode = false
  private var aboveRun = 0
  private var belowRun = 0
  private var sinceEvent = Int.max / 2
  /// The surprise of the point that raised the last event.
  public private(set) var eventSurprise = 0.0
  /// Points seen while the rule is on, and where the last three bursts started (oldest first).
  private var clock = 0
  private var burstStarts: [Int] = []
  /// The current (or last) burst repeats the rhythm of the ones before it.
  public private(set) var inRecurringBurst = false

  /// Whether an event fired within the last `cooldown` points (before this one).
  public var isCoolingDown: Bool { sinceEvent <= cooldown }

  public init(
    consecutive: Int, recovery: Int, cooldown: Int, escalation: Double = 0, recurringTolerance: Double = 0
  ) {
    self.consecutive = max(1, consecutive)
    self.recovery = max(1, recovery)
    self.cooldown = max(0, cooldown)
    self.escalation = max(0, escalation)
    self.recurringTolerance = max(0, recurringTolerance)
  }

  /// Feeds one point's threshold decision and its surprise (−log10 probability, used only for
  /// escalation); returns whether an event fires on it.
  public mutating func update(above: Bool, surprise: Double = 0) -> Bool {
    sinceEvent += 1
    // Bursts are tracked only while the rule is on.
    if recurringTolerance > 0 { clock += 1 }
    guard above else {
      aboveRun = 0
      belowRun += 1
      if inEpisode && belowRun >= recovery { inEpisode = false }
      return false
    }
    if recurringTolerance > 0, belowRun >= recovery || burstStarts.isEmpty { startBurst() }
    belowRun = 0
    aboveRun += 1
    guard !inEpisode, aboveRun >= consecutive else { return false }
    // (An event at infinite surprise cannot be outdone: ∞ + escalation is still ∞.)
    let escalates = escalation > 0 && eventSurprise.isFinite && surprise >= eventSurprise + escalation
    guard (sinceEvent > cooldown && !inRecurringBurst) || escalates else { return false }
    inEpisode = true
    sinceEvent = 0
    eventSurprise = surprise
    return true
  }

  private mutating func startBurst() {
    let gap = clock - (burstStarts.last ?? clock)
    inRecurringBurst = false
    if burstStarts.count == 3, gap >= cooldown {
      let tolerance = recurringTolerance * Double(gap)
      // In doubles: restored from a checkpoint, the starts are bounded but their differences'
      // differences need not fit an Int.
      inRecurringBurst = (1..<3).allSatisfy { i in
        abs(Double(gap) - Double(burstStarts[i] - burstStarts[i - 1])) <= tolerance
      }
    }
    burstStarts.append(clock)
    if burstStarts.count > 3 { burstStarts.removeFirst() }
  }

  func encode(into w: inout StateWriter) {
    w.write(inEpisode)
    w.write(aboveRun)
    w.write(belowRun)
    w.write(sinceEvent)
    w.write(eventSurprise)
    w.write(clock)
    w.write(burstStarts.count)
    for start in burstStarts { w.write(start) }
    w.write(inRecurringBurst)
  }

  mutating func decode(from r: inout StateReader, version: UInt16) throws(StateError) {
    inEpisode = try r.readBool()
    aboveRun = try r.readCounter()
    belowRun = try r.readCounter()
    sinceEvent = try r.readCounter()
    eventSurprise = version >= 2 ? try r.readDouble() : 0
    guard !eventSurprise.isNaN else { throw .invalid("gate") }
    guard version >= 3 else { return }
    clock = try r.readCounter()
    let count = try r.readInt()
    guard (0...3).contains(count) else { throw .invalid("gate bursts") }
    burstStarts = try (0..<count).map { _ throws(StateError) in try r.readCounter() }
    inRecurringBurst = try r.readBool()
  }
}
