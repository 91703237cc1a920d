/// Situations an operator marked as false alarms (`anomalyctl feedback --false-alarm`): the
/// stream's normalised subsequence of the last `history_match` readings at each such event.
///
/// A point that would alarm while the stream's latest subsequence lies within `radius` of one
/// of them is the same situation again: it is scored just below the threshold and learned at
/// the full rate, as a normal point is. A fault of the same size in another context (another
/// phase of a cycle, another shape before it) lies farther away and still alarms. This is the
/// matrix profile's idea turned around: the operator names a subsequence as a known motif.
public struct AcceptedPatterns: Sendable, Equatable {
  /// Patterns kept per stream; the oldest goes first.
  public static let capacity = 8
  /// Mean squared distance per reading and channel, in the stream's standard deviations,
  /// within which a subsequence matches a pattern: half a standard deviation, root mean square.
  public static let radius: Float = 0.25
  /// The score a suppressed point gets at most: just below the threshold's ½.
  public static let suppressedScore = 0.49

  /// Each pattern is `history_match × channels` floats, newest reading first.
  public private(set) var patterns: [[Float]] = []
  /// Points that would have alarmed and matched a pattern.
  public internal(set) var suppressed: UInt64 = 0

  public init() {}

  public var isEmpty: Bool { patterns.isEmpty }

  mutating func add(_ pattern: [Float]) {
    patterns.append(pattern)
    if patterns.count > Self.capacity { patterns.removeFirst() }
  }

  /// Whether `current` (laid out as the patterns are) is within `radius` of any pattern.
  func matches(_ current: [Float]) -> Bool {
    patterns.contains { pattern in
      guard pattern.count == current.count, !pattern.isEmpty else { return false }
      var sum: Float = 0
      for i in 0..<pattern.count {
        let d = pattern[i] - current[i]
        sum += d * d
      }
      return sum / Float(pattern.count) <= Self.radius
    }
  }

  func encode(into w: inout StateWriter) {
    w.write(UInt32(patterns.count))
    for p in patterns { w.write(p) }
    w.write(suppressed)
  }

  mutating func decode(from r: inout StateReader, patternLength: Int) throws(StateError) {
    let count = try r.readCount(max: Self.capacity)
    var decoded: [[Float]] = []
    for _ in 0..<count {
      let p = try r.readFloats(max: 1 << 16)
      guard p.count == patternLength, p.allSatisfy(\.isFinite) else { throw .invalid("accepted pattern") }
      decoded.append(p)
    }
    patterns = decoded
    suppressed = try r.read(UInt64.self)
  }
}
