import ArgumentParser
import ControlProtocol
import Wire

/// `anomalyctl feedback`: tell the daemon an event was a false alarm, so that the same
/// situation does not alarm again.
struct Feedback: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Mark one of a stream's recent events a false alarm (or forget such marks).",
    discussion: """
      --false-alarm takes the stream's last event, or the one given by --event (its sequence \
      number, the third frame of the event message) or --at (the latest event at or before that \
      time: ms since 1970 as in the event's `ts`, or RFC 3339). The daemon keeps the situation \
      of that event — the last `history_match` readings before it — as normal for the stream: \
      a later point that would alarm in the same situation scores just below the threshold \
      instead, while a fault of the same size in another situation still alarms. Up to 8 \
      situations per stream are kept, with its learned state (checkpoints, export). \
      `anomalyctl stream` shows them (feedback_false_alarms, feedback_suppressed); --clear or \
      `anomalyctl reset` forgets them. The daemon remembers the last 8 events of each stream \
      for this.

      Examples:
        anomalyctl feedback plant/pump --false-alarm
        anomalyctl feedback plant/pump --false-alarm --event 3
        anomalyctl feedback plant/pump --clear
      """)

  @Argument(help: "The stream id.") var id: String
  @Flag(name: .long, help: "The event was a false alarm.") var falseAlarm = false
  @Flag(name: .long, help: "Forget every situation marked normal for this stream.") var clear = false
  @Option(name: .long, help: "The event's sequence number.") var event: UInt64?
  @Option(name: .long, help: "The latest event at or before this time (ms since 1970, or RFC 3339).") var at: String?
  @OptionGroup var options: ControlOptions

  func validate() throws {
    guard falseAlarm != clear else { throw ValidationError("give one of --false-alarm and --clear") }
    if clear && (event != nil || at != nil) { throw ValidationError("--event and --at go with --false-alarm") }
    if event != nil && at != nil { throw ValidationError("give --event or --at, not both") }
    if let at, Self.milliseconds(at) == nil {
      throw ValidationError("--at '\(at)': expected ms since 1970 or an RFC 3339 time such as 2026-12-07T10:15:00Z")
    }
  }

  func run() throws {
    let verdict: FeedbackVerdict
    if clear {
      verdict = .clear
    } else if let event {
      verdict = .falseAlarm(.sequence(event))
    } else if let at, let ms = Self.milliseconds(at) {
      verdict = .falseAlarm(.atOrBefore(ms))
    } else {
      verdict = .falseAlarm(.last)
    }
    try options.run(.feedback(id: id, verdict: verdict))
  }

  /// ms since 1970, or a date as the wire formats take it (RFC 3339; `Timestamp.parseDate`).
  static func milliseconds(_ text: String) -> Int64? {
    if let ms = Int64(text) { return ms }
    return Array(text.utf8).withUnsafeBytes { Timestamp.parseDate($0) }
  }
}
