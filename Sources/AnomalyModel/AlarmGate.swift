/// Hysteresis between "this point is above the threshold" and "raise an anomaly event".
///
/// A burst of exceedances is one incident, and an operator wants one event for it, not fifty.
/// An event fires when `consecutive` points in a row exceed the threshold, no episode is open
/// and at least `cooldown` points passed since the previous event. The episode stays open until
/// `recovery` consecutive points are back below the threshold.
public struct AlarmGate: Sendable, Equatable {
  public let consecutive: Int
  public let recovery: Int
  public let cooldown: Int

  public private(set) var inEpisode = false
  private var aboveRun = 0
  private var belowRun = 0
  private var sinceEvent = Int.max / 2

  /// Whether an event fired within the last `cooldown` points (before this one).
  public var isCoolingDown: Bool { sinceEvent <= cooldown }

  public init(consecutive: Int, recovery: Int, cooldown: Int) {
    self.consecutive = max(1, consecutive)
    self.recovery = max(1, recovery)
    self.cooldown = max(0, cooldown)
  }

  /// Feeds one point's threshold decision; returns whether an event fires on it.
  public mutating func update(above: Bool) -> Bool {
    sinceEvent += 1
    guard above else {
      aboveRun = 0
      belowRun += 1
      if inEpisode && belowRun >= recovery { inEpisode = false }
      return false
    }
    belowRun = 0
    aboveRun += 1
    guard !inEpisode, aboveRun >= consecutive, sinceEvent > cooldown else { return false }
    inEpisode = true
    sinceEvent = 0
    return true
  }

  func encode(into w: inout StateWriter) {
    w.write(inEpisode)
    w.write(aboveRun)
    w.write(belowRun)
    w.write(sinceEvent)
  }

  mutating func decode(from r: inout StateReader) throws(StateError) {
    inEpisode = try r.readBool()
    aboveRun = try r.readInt()
    belowRun = try r.readInt()
    sinceEvent = try r.readInt()
  }
}
