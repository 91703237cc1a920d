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
public struct AlarmGate: Sendable, Equatable {
  public let consecutive: Int
  public let recovery: Int
  public let cooldown: Int
  public let escalation: Double

  public private(set) var inEpisode = false
  private var aboveRun = 0
  private var belowRun = 0
  private var sinceEvent = Int.max / 2
  /// The surprise of the point that raised the last event.
  public private(set) var eventSurprise = 0.0

  /// Whether an event fired within the last `cooldown` points (before this one).
  public var isCoolingDown: Bool { sinceEvent <= cooldown }

  public init(consecutive: Int, recovery: Int, cooldown: Int, escalation: Double = 0) {
    self.consecutive = max(1, consecutive)
    self.recovery = max(1, recovery)
    self.cooldown = max(0, cooldown)
    self.escalation = max(0, escalation)
  }

  /// Feeds one point's threshold decision and its surprise (−log10 probability, used only for
  /// escalation); returns whether an event fires on it.
  public mutating func update(above: Bool, surprise: Double = 0) -> Bool {
    sinceEvent += 1
    guard above else {
      aboveRun = 0
      belowRun += 1
      if inEpisode && belowRun >= recovery { inEpisode = false }
      return false
    }
    belowRun = 0
    aboveRun += 1
    guard !inEpisode, aboveRun >= consecutive else { return false }
    // (An event at infinite surprise cannot be outdone: ∞ + escalation is still ∞.)
    let escalates = escalation > 0 && eventSurprise.isFinite && surprise >= eventSurprise + escalation
    guard sinceEvent > cooldown || escalates else { return false }
    inEpisode = true
    sinceEvent = 0
    eventSurprise = surprise
    return true
  }

  func encode(into w: inout StateWriter) {
    w.write(inEpisode)
    w.write(aboveRun)
    w.write(belowRun)
    w.write(sinceEvent)
    w.write(eventSurprise)
  }

  mutating func decode(from r: inout StateReader, version: UInt16) throws(StateError) {
    inEpisode = try r.readBool()
    aboveRun = try r.readInt()
    belowRun = try r.readInt()
    sinceEvent = try r.readInt()
    eventSurprise = version >= 2 ? try r.readDouble() : 0
    guard !eventSurprise.isNaN else { throw .invalid("gate") }
  }
}
