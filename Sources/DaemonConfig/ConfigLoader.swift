import AnomalyModel
import TOMLKit

/// Reads TOML into a `DaemonConfiguration`, rejecting unknown keys and wrong types with a
/// message that names the key, the value and the reason.
public enum ConfigLoader {
  /// Defaults, overlaid with the file's contents (if any), overlaid with `overrides`
  /// (`section.key=value`, the value in TOML syntax), then validated.
  public static func load(fileContents: String?, fileName: String = "", overrides: [String] = [])
    throws(ConfigError) -> DaemonConfiguration
  {
    var config = DaemonConfiguration()
    if let fileContents {
      try apply(toml: fileContents, source: fileName, to: &config)
    }
    for override in overrides {
      guard let equals = override.firstIndex(of: "="), override[..<equals].contains(".") else {
        throw ConfigError(
          key: "", value: override, reason: "'--set \(override)': expected section.key=value",
          source: "command line")
      }
      let path = override[..<equals].split(separator: ".", maxSplits: 1)
      let section = String(path[0]).trimmingSpaces
      let key = String(path[1]).trimmingSpaces
      var value = String(override[override.index(after: equals)...]).trimmingSpaces
      // Let `--set publish.mode=all` work without shell-quoted TOML quotes.
      if !value.isEmpty, Double(value) == nil, !["true", "false"].contains(value),
        !value.hasPrefix("\""), !value.hasPrefix("'"), !value.hasPrefix("[")
      {
        value = "\"\(value)\""
      }
      try apply(toml: "[\(section)]\n\(key) = \(value)\n", source: "--set \(override)", to: &config)
    }
    try validate(config)
    if !config.security.curveKeyFile.isEmpty {
      config.security.curveKeys = try CurveKeyPair.load(path: config.security.curveKeyFile, needSecret: true)
    }
    return config
  }

  static func apply(toml: String, source: String, to config: inout DaemonConfiguration)
    throws(ConfigError)
  {
    if let (line, column, reason) = TOMLPrecheck.firstProblem(toml) {
      throw ConfigError(
        key: "", value: "", reason: "not valid TOML at line \(line), column \(column): \(reason)", source: source)
    }
    let table: TOMLTable
    do {
      table = try TOMLTable(string: toml)
    } catch let error as TOMLParseError {
      throw ConfigError(
        key: "", value: "",
        reason:
          "not valid TOML at line \(error.source.begin.line), column \(error.source.begin.column): \(error.description)",
        source: source)
    } catch {
      throw ConfigError(key: "", value: "", reason: "not valid TOML: \(error)", source: source)
    }
    for sectionName in table.keys {
      guard let section = table[sectionName]?.table else {
        throw ConfigError(
          key: sectionName, value: "\(table[sectionName]!)",
          reason: "top-level keys must be sections ([ingest], [publish], [control], [server], [detector])",
          source: source)
      }
      var reader = SectionReader(name: sectionName, table: section, source: source)
      switch sectionName {
      case "ingest": try readIngest(&reader, &config.ingest)
      case "publish": try readPublish(&reader, &config.publish)
      case "control": try readControl(&reader, &config.control)
      case "server": try readServer(&reader, &config.server)
      case "detector": try readDetector(&reader, &config.detector)
      case "security": try readSecurity(&reader, &config.security)
      case "cluster": try readCluster(&reader, &config.cluster)
      default:
        throw ConfigError(
          key: sectionName, value: "[...]",
          reason: "unknown section (known: ingest, publish, control, server, detector, security, cluster)",
          source: source)
      }
      try reader.rejectUnknownKeys()
    }
  }

  static func readIngest(_ r: inout SectionReader, _ c: inout DaemonConfiguration.Ingest) throws(ConfigError) {
    try r.read("bind", &c.bind)
    try r.read("connect", &c.connect)
    try r.read("subscribe", &c.subscribe)
    try r.read("receive_hwm", &c.receiveHighWaterMark)
    try r.read("max_message_bytes", &c.maxMessageBytes)
    try r.read("max_topic_bytes", &c.maxTopicBytes)
    try r.read("max_streams", &c.maxStreams)
    var eviction = c.streamEviction.rawValue
    try r.read("stream_eviction", &eviction)
    guard let parsedEviction = DaemonConfiguration.StreamEviction(rawValue: eviction) else {
      throw r.error("stream_eviction", eviction, "must be \"lru\" or \"reject\"")
    }
    c.streamEviction = parsedEviction
    try r.read("keep_evicted_state", &c.keepEvictedState)
    try r.read("queue_capacity", &c.queueCapacity)
  }

  static func readPublish(_ r: inout SectionReader, _ c: inout DaemonConfiguration.Publish) throws(ConfigError) {
    try r.read("bind", &c.bind)
    try r.read("connect", &c.connect)
    var mode = c.mode.rawValue
    try r.read("mode", &mode)
    guard let parsed = DaemonConfiguration.PublishMode(rawValue: mode) else {
      throw r.error("mode", mode, "must be \"anomalies\" or \"all\"")
    }
    c.mode = parsed
    try r.read("send_hwm", &c.sendHighWaterMark)
    try r.read("queue_capacity", &c.queueCapacity)
    try r.read("alertmanager_url", &c.alertmanagerURL)
    if !c.alertmanagerURL.isEmpty, DaemonConfiguration.HTTPEndpoint(c.alertmanagerURL) == nil {
      throw r.error(
        "alertmanager_url", c.alertmanagerURL,
        "must be \"http://host:port\", e.g. \"http://127.0.0.1:9093\", or empty (off)")
    }
    try r.read("alertmanager_resend_interval", &c.alertmanagerResendInterval)
    try r.read("alertmanager_queue", &c.alertmanagerQueue)
  }

  static func readControl(_ r: inout SectionReader, _ c: inout DaemonConfiguration.Control) throws(ConfigError) {
    try r.read("socket", &c.socket)
    var mode = String(c.mode, radix: 8)
    try r.read("mode", &mode)
    guard let parsed = UInt32(mode, radix: 8), parsed <= 0o777 else {
      throw r.error("mode", mode, "must be an octal permission string such as \"0660\"")
    }
    c.mode = parsed
    try r.read("group", &c.group)
    try r.read("max_connections", &c.maxConnections)
    guard (1...65536).contains(c.maxConnections) else {
      throw r.error("max_connections", "\(c.maxConnections)", "must be between 1 and 65536")
    }
  }

  static func readServer(_ r: inout SectionReader, _ c: inout DaemonConfiguration.Server) throws(ConfigError) {
    try r.read("workers", &c.workers)
    try r.read("log_level", &c.logLevel)
    try r.read("metrics_textfile", &c.metricsTextfile)
    try r.read("metrics_interval", &c.metricsInterval)
    try r.read("metrics_listen", &c.metricsListen)
    if !c.metricsListen.isEmpty, DaemonConfiguration.ListenAddress(c.metricsListen) == nil {
      throw r.error("metrics_listen", c.metricsListen, "must be \"host:port\", e.g. \"127.0.0.1:9464\", or empty (off)")
    }
    try r.read("metrics_max_streams", &c.metricsMaxStreams)
    try r.read("stream_history", &c.streamHistory)
    try r.read("state_directory", &c.stateDirectory)
    try r.read("checkpoint_interval", &c.checkpointInterval)
    var shard = c.shard.description
    try r.read("shard", &shard)
    guard let parsedShard = DaemonConfiguration.Shard(shard) else {
      throw r.error("shard", shard, "must be \"i/N\" with 0 ≤ i < N, e.g. \"0/2\"")
    }
    c.shard = parsedShard
  }

  static func readSecurity(_ r: inout SectionReader, _ c: inout DaemonConfiguration.Security) throws(ConfigError) {
    try r.read("curve_key_file", &c.curveKeyFile)
    try r.read("curve_allowed_clients", &c.curveAllowedClients)
  }

  static func readCluster(_ r: inout SectionReader, _ c: inout DaemonConfiguration.Cluster) throws(ConfigError) {
    try r.read("postgres_url", &c.postgresURL)
    if !c.postgresURL.isEmpty, !(c.postgresURL.hasPrefix("postgres://") || c.postgresURL.hasPrefix("postgresql://")) {
      throw r.error("postgres_url", c.postgresURL, "must be postgres://user@host[:port]/database, or empty (off)")
    }
    try r.read("member", &c.member)
    try r.read("partitions", &c.partitions)
    try r.read("lease_time", &c.leaseTime)
  }

  static func readDetector(_ r: inout SectionReader, _ d: inout DetectorConfiguration) throws(ConfigError) {
    try r.read("hidden", &d.hidden)
    try r.read("attention_dim", &d.attentionDim)
    try r.read("window", &d.window)
    var seed = Int(truncatingIfNeeded: d.seed)
    try r.read("seed", &seed)
    guard seed >= 0 else { throw r.error("seed", String(seed), "must not be negative") }
    d.seed = UInt64(seed)
    try r.read("learning_rate", &d.learningRate)
    try r.read("anomaly_learning_factor", &d.anomalyLearningFactor)
    try r.read("relearn_fraction", &d.relearnFraction)
    try r.read("readout_memory", &d.readoutMemory)
    try r.read("readout_prior", &d.readoutPrior)
    try r.read("history_length", &d.historyLength)
    try r.read("history_match", &d.historyMatch)
    try r.read("huber_delta", &d.huberDelta)
    try r.read("max_gradient_norm", &d.maxGradientNorm)
    try r.read("normaliser_rate", &d.normaliserRate)
    try r.read("input_clip", &d.inputClip)
    try r.read("warmup", &d.warmup)
    try r.read("threshold_level", &d.thresholdLevel)
    try r.read("risk", &d.risk)
    try r.read("threshold_window", &d.thresholdWindow)
    try r.read("threshold_refit", &d.thresholdRefit)
    try r.read("threshold_catch_up", &d.thresholdCatchUp)
    try r.read("smoothing", &d.smoothing)
    try r.read("suppression", &d.suppression)
    try r.read("range_tolerance", &d.rangeTolerance)
    try r.read("stuck_min_run", &d.stuckMinimumRun)
    try r.read("alarm_consecutive", &d.alarmConsecutive)
    try r.read("alarm_recovery", &d.alarmRecovery)
    try r.read("alarm_cooldown", &d.alarmCooldown)
    try r.read("alarm_escalation", &d.alarmEscalation)
    try r.read("alarm_recurring_tolerance", &d.alarmRecurringTolerance)
    try r.read("slow_block", &d.slowBlock)
    try r.read("slow_warmup", &d.slowWarmup)
    try r.read("slow_range_tolerance", &d.slowRangeTolerance)
    try r.read("seasonal_correlation", &d.seasonalCorrelation)
    try r.read("cross_channel_limit", &d.crossChannelLimit)
    try r.read("discrete_values", &d.discreteValues)
  }

  /// Range checks across the whole configuration.
  public static func validate(_ c: DaemonConfiguration) throws(ConfigError) {
    func check(_ ok: Bool, _ key: String, _ value: some CustomStringConvertible, _ why: String)
      throws(ConfigError)
    {
      if !ok { throw ConfigError(key: key, value: "\(value)", reason: why) }
    }
    try check(
      !(c.ingest.bind.isEmpty && c.ingest.connect.isEmpty), "ingest.bind", c.ingest.bind,
      "at least one ingest endpoint (bind or connect) is needed")
    for endpoint in c.ingest.bind + c.ingest.connect + c.publish.bind + c.publish.connect {
      try check(
        ["tcp://", "ipc://", "inproc://"].contains { endpoint.hasPrefix($0) }, "endpoint", endpoint,
        "must start with tcp://, ipc:// or inproc://")
    }
    try check(c.ingest.receiveHighWaterMark >= 0, "ingest.receive_hwm", c.ingest.receiveHighWaterMark, "must be ≥ 0")
    try check(
      (64...(256 << 20)).contains(c.ingest.maxMessageBytes), "ingest.max_message_bytes",
      c.ingest.maxMessageBytes, "must be between 64 and 268435456")
    try check(
      (1...4096).contains(c.ingest.maxTopicBytes), "ingest.max_topic_bytes", c.ingest.maxTopicBytes,
      "must be between 1 and 4096")
    try check(
      !c.ingest.subscribe.isEmpty, "ingest.subscribe", "[]",
      "at least one topic prefix is needed (\"\" takes every topic)")
    for prefix in c.ingest.subscribe {
      try check(
        prefix.utf8.count <= c.ingest.maxTopicBytes, "ingest.subscribe", prefix,
        "a prefix longer than ingest.max_topic_bytes matches no valid stream id")
    }
    try check(c.ingest.maxStreams >= 1, "ingest.max_streams", c.ingest.maxStreams, "must be ≥ 1")
    try check(
      (16...(1 << 24)).contains(c.ingest.queueCapacity), "ingest.queue_capacity", c.ingest.queueCapacity,
      "must be between 16 and 16777216")
    try check(c.publish.sendHighWaterMark >= 0, "publish.send_hwm", c.publish.sendHighWaterMark, "must be ≥ 0")
    try check(
      (16...(1 << 24)).contains(c.publish.queueCapacity), "publish.queue_capacity", c.publish.queueCapacity,
      "must be between 16 and 16777216")
    try check(
      c.publish.alertmanagerResendInterval >= 1 && c.publish.alertmanagerResendInterval <= 3600,
      "publish.alertmanager_resend_interval", c.publish.alertmanagerResendInterval, "must be between 1 and 3600 seconds"
    )
    try check(
      (16...(1 << 24)).contains(c.publish.alertmanagerQueue), "publish.alertmanager_queue", c.publish.alertmanagerQueue,
      "must be between 16 and 16777216")
    try check((0...256).contains(c.server.workers), "server.workers", c.server.workers, "must be between 0 and 256")
    try check(
      ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(c.server.logLevel),
      "server.log_level", c.server.logLevel, "must be trace, debug, info, notice, warning, error or critical")
    try check(
      c.server.metricsInterval >= 1 && c.server.metricsInterval <= 86400, "server.metrics_interval",
      c.server.metricsInterval, "must be between 1 and 86400 seconds")
    try check(
      (0...100_000).contains(c.server.streamHistory), "server.stream_history", c.server.streamHistory,
      "must be between 0 and 100000")
    try check(
      (0...1_000_000).contains(c.server.metricsMaxStreams), "server.metrics_max_streams", c.server.metricsMaxStreams,
      "must be between 0 and 1000000")
    try check(
      c.server.checkpointInterval >= 1 && c.server.checkpointInterval <= 86400, "server.checkpoint_interval",
      c.server.checkpointInterval, "must be between 1 and 86400 seconds")
    try check(
      (1...65536).contains(c.cluster.partitions), "cluster.partitions", c.cluster.partitions,
      "must be between 1 and 65536")
    try check(
      c.cluster.leaseTime >= 1 && c.cluster.leaseTime <= 600, "cluster.lease_time", c.cluster.leaseTime,
      "must be between 1 and 600 seconds")
    try check(
      c.cluster.member.utf8.count <= 255 && !c.cluster.member.contains(where: \.isNewline), "cluster.member",
      c.cluster.member, "must be at most 255 bytes on one line")
    if c.cluster.isEnabled {
      try check(
        c.server.shard.count == 1, "server.shard", c.server.shard,
        "cannot be combined with cluster mode (cluster.postgres_url): partitions replace shards")
      try check(
        !c.ingest.keepEvictedState, "ingest.keep_evicted_state", c.ingest.keepEvictedState,
        "is not supported in cluster mode (cluster.postgres_url)")
    }
    for key in c.security.curveAllowedClients where !CurveKeyPair.isZ85Key(key) {
      throw ConfigError(key: "security.curve_allowed_clients", value: key, reason: "not a 40-character Z85 public key")
    }
    if !c.security.curveAllowedClients.isEmpty && c.security.curveKeyFile.isEmpty {
      throw ConfigError(
        key: "security.curve_allowed_clients", value: "[…]", reason: "needs security.curve_key_file (CURVE is off)")
    }
    if let (key, reason) = c.detector.validationError() {
      throw ConfigError(key: "detector.\(key)", value: detectorValue(c.detector, key), reason: reason)
    }
  }

  static func detectorValue(_ d: DetectorConfiguration, _ key: String) -> String {
    let mirror = Mirror(reflecting: d)
    let camel = key.split(separator: "_").enumerated().map {
      $0 == 0 ? String($1) : $1.prefix(1).uppercased() + $1.dropFirst()
    }.joined()
    return mirror.children.first { $0.label == camel }.map { "\($0.value)" } ?? "?"
  }
}

extension String {
  var trimmingSpaces: String {
    var s = Substring(self)
    while s.first == " " { s.removeFirst() }
    while s.last == " " { s.removeLast() }
    return String(s)
  }
}
