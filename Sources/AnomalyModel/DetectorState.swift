/// Saving and restoring a detector exactly, for checkpoints that survive restarts.
///
///     "ADST"  magic
///     u16     format version (12; 11, without the discrete channels' counts and recent rate, 10, without the discrete channels' values, 9, without the situations marked normal by feedback and the episode state, 8, with the history attention's retired novelty tail, 7, without the history attention, 6, without the read-out refit, 5, also without the
///             cross-channel check and relearning, 4, also without the seasonal check, 3,
///             also without the slow scale, 2, also without the stuck-sensor check, the
///             threshold's catch-up and recurring bursts, and 1, also without alarm
///             escalation, are still read)
///     u32     payload length
///     …       payload: configuration, channels, samples, normaliser, scorer, gate, ranges,
///             stuck-sensor check, model, and whether a slow scale follows, then the slow scale
///             (with its seasonal check at its end), then whether a cross-channel check
///             follows, that check, the recent fraction of points above the threshold, and
///             whether the read-out refit follows, then the refit, then whether the history
///             attention follows, and the history attention, then the situations marked
///             normal (`AcceptedPatterns`) and the episode state (`EpisodeState`), then whether
///             discrete channels' value counts follow (`DiscreteChannels`), and those
///     u32     CRC-32 of the payload
///
/// The configuration travels with the state: a restored stream keeps the settings it learned
/// under, as a running stream does across a reload.
extension StreamDetector {
  public static let stateVersion: UInt16 = 12
  static let stateMagic: [UInt8] = Array("ADST".utf8)

  public func encodeState() -> [UInt8] {
    var payload = StateWriter()
    configuration.encode(into: &payload)
    payload.write(channels)
    payload.write(samples)
    normaliser.encode(into: &payload)
    threshold.encode(into: &payload)
    gate.encode(into: &payload)
    payload.write(rangeLow)
    payload.write(rangeHigh)
    stuck.encode(into: &payload)
    model.encode(into: &payload)
    payload.write(slow != nil)
    slow?.encode(into: &payload)
    payload.write(crossChannel != nil)
    crossChannel?.encode(into: &payload)
    payload.write(recentAboveFraction)
    payload.write(readout != nil)
    readout?.encode(into: &payload)
    payload.write(history != nil)
    history?.encode(into: &payload)
    accepted.encode(into: &payload)
    episode.encode(into: &payload)
    payload.write(discrete != nil)
    discrete?.encode(into: &payload)
    var out = StateWriter()
    for b in StreamDetector.stateMagic { out.write(b) }
    out.write(StreamDetector.stateVersion)
    out.write(UInt32(payload.bytes.count))
    var bytes = out.bytes + payload.bytes
    var crc = StateWriter()
    crc.write(CRC32.checksum(payload.bytes[...]))
    bytes += crc.bytes
    return bytes
  }

  /// Rebuilds a detector from `encodeState()` output; throws on anything malformed.
  public static func decodeState(_ bytes: [UInt8]) throws(StateError) -> StreamDetector {
    guard bytes.count >= 14 else { throw .truncated }
    guard Array(bytes[0..<4]) == stateMagic else { throw .badMagic }
    var header = StateReader(bytes, offset: 4)
    let version = try header.read(UInt16.self)
    guard (1...stateVersion).contains(version) else { throw .unsupportedVersion(version) }
    let length = Int(try header.read(UInt32.self))
    guard bytes.count == 10 + length + 4 else { throw .truncated }
    var trailer = StateReader(bytes, offset: 10 + length)
    guard try trailer.read(UInt32.self) == CRC32.checksum(bytes[10..<(10 + length)]) else {
      throw .checksumMismatch
    }
    var r = StateReader(Array(bytes[0..<(10 + length)]), offset: 10)
    let configuration = try DetectorConfiguration(decoding: &r, version: version)
    let channels = try r.readInt()
    guard (1...4096).contains(channels) else { throw .invalid("channel count \(channels)") }
    let detector = StreamDetector(configuration: configuration, channels: channels)
    detector.samples = UInt64(try r.readCounter())
    try detector.normaliser.decode(from: &r)
    try detector.threshold.decode(from: &r, version: version)
    try detector.gate.decode(from: &r, version: version)
    let low = try r.readDoubles(max: 4096)
    let high = try r.readDoubles(max: 4096)
    guard low.count == channels, high.count == channels else { throw .invalid("range") }
    detector.rangeLow = low
    detector.rangeHigh = high
    if version >= 3 { try detector.stuck.decode(from: &r) }
    try detector.model.decode(from: &r)
    if version >= 4 {
      let hasSlow = try r.readBool()
      guard hasSlow == (detector.slow != nil) else { throw .invalid("slow scale presence") }
      try detector.slow?.decode(from: &r, version: version)
    }
    if version >= 6 {
      guard try r.readBool() == (detector.crossChannel != nil) else { throw .invalid("cross-channel check presence") }
      try detector.crossChannel?.decode(from: &r, version: version)
      let fraction = try r.readDouble()
      guard (0...1).contains(fraction) else { throw .invalid("recent above-threshold fraction \(fraction)") }
      detector.recentAboveFraction = fraction
    }
    if version >= 7 {
      guard try r.readBool() == (detector.readout != nil) else { throw .invalid("read-out refit presence") }
      try detector.readout?.decode(from: &r)
    }
    if version >= 8 {
      guard try r.readBool() == (detector.history != nil) else { throw .invalid("history attention presence") }
      try detector.history?.decode(from: &r, version: version, configuration: detector.configuration)
    }
    if version >= 10 {
      let length = detector.history.map { $0.match * channels } ?? 0
      try detector.accepted.decode(from: &r, patternLength: length)
      try detector.episode.decode(from: &r, channels: channels)
    }
    if version >= 11 {
      guard try r.readBool() == (detector.discrete != nil) else { throw .invalid("discrete channels presence") }
      try detector.discrete?.decode(from: &r, version: version)
    }
    guard r.isAtEnd else { throw .invalid("trailing bytes") }
    return detector
  }
}

extension DetectorConfiguration {
  func encode(into w: inout StateWriter) {
    for v in [hidden, attentionDim, window] { w.write(v) }
    w.write(seed)
    for v in [learningRate, anomalyLearningFactor, huberDelta, maxGradientNorm, normaliserRate, inputClip] {
      w.write(v)
    }
    w.write(warmup)
    w.write(thresholdLevel)
    w.write(risk)
    w.write(rangeTolerance)
    for v in [thresholdWindow, thresholdRefit, smoothing, suppression, alarmConsecutive, alarmRecovery, alarmCooldown] {
      w.write(v)
    }
    w.write(alarmEscalation)
    w.write(stuckMinimumRun)
    w.write(thresholdCatchUp)
    w.write(alarmRecurringTolerance)
    w.write(slowBlock)
    w.write(slowWarmup)
    w.write(slowRangeTolerance)
    w.write(seasonalCorrelation)
    w.write(crossChannelLimit)
    w.write(relearnFraction)
    w.write(readoutMemory)
    w.write(readoutPrior)
    w.write(historyLength)
    w.write(historyMatch)
    w.write(discreteValues)
  }

  /// Version 1 states predate escalation, and versions 1 and 2 the stuck-sensor check, the
  /// threshold's catch-up and the recurring-burst rule: a
  /// stream restored from one keeps its old behaviour (those off), as every restored stream
  /// keeps the settings it learned under.
  init(decoding r: inout StateReader, version: UInt16) throws(StateError) {
    self.init()
    hidden = try r.readInt()
    attentionDim = try r.readInt()
    window = try r.readInt()
    seed = try r.read(UInt64.self)
    learningRate = try r.readDouble()
    anomalyLearningFactor = try r.readDouble()
    huberDelta = try r.readDouble()
    maxGradientNorm = try r.readDouble()
    normaliserRate = try r.readDouble()
    inputClip = try r.readDouble()
    warmup = try r.readInt()
    thresholdLevel = try r.readDouble()
    risk = try r.readDouble()
    rangeTolerance = try r.readDouble()
    thresholdWindow = try r.readInt()
    thresholdRefit = try r.readInt()
    smoothing = try r.readInt()
    suppression = try r.readInt()
    alarmConsecutive = try r.readInt()
    alarmRecovery = try r.readInt()
    alarmCooldown = try r.readInt()
    alarmEscalation = version >= 2 ? try r.readDouble() : 0
    stuckMinimumRun = version >= 3 ? try r.readInt() : 0
    thresholdCatchUp = version >= 3 ? try r.readDouble() : 0
    alarmRecurringTolerance = version >= 3 ? try r.readDouble() : 0
    // Version 4 added the slow scale; a stream restored from an older checkpoint goes on
    // without it.
    slowBlock = version >= 4 ? try r.readInt() : 0
    if version >= 4 {
      slowWarmup = try r.readInt()
      slowRangeTolerance = try r.readDouble()
    }
    // Version 5 added the seasonal check.
    seasonalCorrelation = version >= 5 ? try r.readDouble() : 0
    // Version 6 added the cross-channel check and relearning after a lasting change.
    crossChannelLimit = version >= 6 ? try r.readInt() : 0
    relearnFraction = version >= 6 ? try r.readDouble() : 0
    // Version 7 added the read-out refitted by recursive least squares.
    readoutMemory = version >= 7 ? try r.readInt() : 0
    if version >= 7 { readoutPrior = try r.readDouble() }
    // Version 8 added the history attention.
    historyLength = version >= 8 ? try r.readInt() : 0
    if version >= 8 { historyMatch = try r.readInt() }
    // Version 11 added the discrete channels.
    discreteValues = version >= 11 ? try r.readInt() : 0
    if let (key, reason) = validationError() { throw .invalid("configuration \(key) \(reason)") }
  }
}

extension GRUAttentionModel {
  /// The window bookkeeping, then parameters and state in one block of floats.
  func encode(into w: inout StateWriter) {
    let book = bookkeeping
    w.write(book.windowCount)
    w.write(book.windowNext)
    w.write(book.hasStep)
    w.write(UnsafeBufferPointer(rawStorage))
  }

  /// Restores what `encode` wrote into a model of the same shape; refuses another size,
  /// non-finite weights and impossible window positions.
  func decode(from r: inout StateReader) throws(StateError) {
    let windowCount = try r.readInt()
    let windowNext = try r.readInt()
    let hasStep = try r.readBool()
    let storage = try r.readFloats()
    let target = rawStorage
    guard storage.count == target.count else { throw .invalid("model size \(storage.count), expected \(target.count)") }
    guard storage.allSatisfy(\.isFinite) else { throw .invalid("non-finite model weights") }
    _ = target.initialize(from: storage)
    guard restoreBookkeeping(windowCount: windowCount, windowNext: windowNext, hasStep: hasStep) else {
      throw .invalid("window bookkeeping")
    }
  }
}
