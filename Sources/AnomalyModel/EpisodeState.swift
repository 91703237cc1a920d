/// Whether the stream is anomalous now: from an event until its readings are back near the
/// level they had before it.
///
/// The alarm gate's episode ends after `alarm_recovery` normal readings, which is right for one
/// event per incident and too early for a fault that lasts: the model goes on learning (slowly)
/// and its errors fall back while the readings are still off. This state keeps each channel's
/// mean and scale at the moment the event fired, and an average of the readings since (over
/// `alarm_recovery` readings). It stays open while the gate's episode is, or while any channel's
/// recent average lies more than `distance` of its pre-event scales from its pre-event mean; and
/// at most `threshold_window` readings, by when the stream's tails have forgotten the old level
/// and the new one is its normal.
struct EpisodeState: Equatable {
  /// Two standard deviations of the stream before the event.
  static let distance = 2.0

  private(set) var isOpen = false
  private var baseline: [Double] = []
  private var scale: [Double] = []
  private var recent: [Double] = []
  private var age = 0

  /// An event fired at `values`; `mean` and `scale` are the stream's before it.
  mutating func start(values: UnsafeBufferPointer<Double>, mean: [Double], scale: [Double]) {
    baseline = mean
    self.scale = scale
    recent = Array(values)
    age = 0
    isOpen = true
  }

  /// A reading after the event's.
  mutating func update(
    _ values: UnsafeBufferPointer<Double>, gateOpen: Bool, recovery: Int, maximumAge: Int
  ) {
    guard isOpen else { return }
    age += 1
    let rate = 1 / Double(Swift.max(1, recovery))
    var away = false
    for c in 0..<recent.count {
      recent[c] += (values[c] - recent[c]) * rate
      if abs(recent[c] - baseline[c]) > Self.distance * scale[c] { away = true }
    }
    if !gateOpen && (!away || age >= maximumAge) { close() }
  }

  mutating func close() {
    isOpen = false
    (baseline, scale, recent, age) = ([], [], [], 0)
  }

  func encode(into w: inout StateWriter) {
    w.write(isOpen)
    w.write(baseline)
    w.write(scale)
    w.write(recent)
    w.write(age)
  }

  mutating func decode(from r: inout StateReader, channels: Int) throws(StateError) {
    isOpen = try r.readBool()
    baseline = try r.readDoubles(max: 4096)
    scale = try r.readDoubles(max: 4096)
    recent = try r.readDoubles(max: 4096)
    age = try r.readCounter()
    let expected = isOpen ? channels : 0
    guard baseline.count == expected, scale.count == expected, recent.count == expected,
      (baseline + scale + recent).allSatisfy(\.isFinite)
    else { throw .invalid("episode state") }
  }
}
