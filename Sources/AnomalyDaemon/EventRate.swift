/// How often a stream raises events, in an operator's terms: per 10,000 readings, and per day
/// at the stream's own reading rate. What `anomalyctl stream ID` reports beside the event count,
/// so a false-alarm rate can be read off without knowing the stream's sampling interval.
///
/// Both rates count every event, true or false: the daemon cannot tell them apart. On a
/// stream that is mostly normal they approach its false-event rate.
struct EventRate: Equatable, Sendable {
  /// Events per 10,000 readings scored after the warm-up; nil before one was.
  let per10kReadings: Double?
  /// The mean time between this daemon's readings of the stream, gaps included; nil before two
  /// readings with increasing timestamps. Not checkpointed: after a restart it is measured anew.
  let readingIntervalSeconds: Double?

  /// `events` raised over `samples` readings, the first `warmup` of which are not scored;
  /// `timedReadings` readings seen by this daemon, spanning `timedSpanMs` from first to last.
  init(events: UInt64, samples: UInt64, warmup: Int, timedReadings: UInt64, timedSpanMs: Int64) {
    let scored = samples > UInt64(Swift.max(0, warmup)) ? samples - UInt64(Swift.max(0, warmup)) : 0
    per10kReadings = scored > 0 ? 1e4 * Double(events) / Double(scored) : nil
    readingIntervalSeconds =
      timedReadings >= 2 && timedSpanMs > 0 ? Double(timedSpanMs) / 1000 / Double(timedReadings - 1) : nil
  }

  /// Events per day: the rate per reading times the readings a day brings.
  var perDay: Double? {
    guard let per10kReadings, let readingIntervalSeconds else { return nil }
    return per10kReadings / 1e4 * 86_400 / readingIntervalSeconds
  }
}
