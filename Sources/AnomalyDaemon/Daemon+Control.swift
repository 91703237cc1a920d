import ControlProtocol
import DaemonConfig
import Foundation
import StateStore
import Wire
import ZeroMQ

/// The daemon's answers to control requests.
extension Daemon {
  static let version = "0.1.0"

  func handle(_ request: ControlRequest) -> ControlReply {
    do {
      switch request.command {
      case .ping:
        return ControlReply(ok: true, body: request.json ? "{\"pong\":true}\n" : "pong\n")
      case .info(let section):
        let report = infoReport(section: section)
        return ControlReply(ok: true, body: request.json ? report.json : report.text)
      case .streams:
        let summaries = try gatherSummaries(only: nil).sorted { $0.id < $1.id }
        return ControlReply(ok: true, body: request.json ? streamsJSON(summaries) : streamsText(summaries))
      case .stream(let id):
        guard let summary = try gatherSummaries(only: id).first else {
          return .failure("no stream '\(id)'")
        }
        let report = InfoReport([streamSection(summary)])
        return ControlReply(ok: true, body: request.json ? report.json : report.text)
      case .history(let id):
        for answer in try askWorkers(.history(id)) {
          if case .history(let found?) = answer {
            return ControlReply(
              ok: true,
              body: request.json
                ? historyJSON(id, channels: found.channels, found.rows)
                : historyText(channels: found.channels, found.rows))
          }
        }
        return .failure("no stream '\(id)'")
      case .feedback(let id, let verdict):
        for answer in try askWorkers(.feedback(id, verdict)) {
          if case .feedback(let outcome?) = answer {
            switch outcome {
            case .success(let message):
              return ControlReply(ok: true, body: request.json ? "{\"message\":\(quote(message))}\n" : message + "\n")
            case .failure(let error): return .failure(error.description)
            }
          }
        }
        return .failure("no stream '\(id)'")
      case .reset(let id):
        let found = try askWorkers(.reset(id)).contains {
          if case .reset(true) = $0 { return true }
          return false
        }
        guard found else { return .failure("no stream '\(id)'") }
        return ControlReply(ok: true, body: request.json ? "{\"reset\":\(quote(id))}\n" : "reset \(id)\n")
      case .reload:
        switch reload() {
        case .success(let message):
          return ControlReply(ok: true, body: request.json ? "{\"message\":\(quote(message))}\n" : message + "\n")
        case .failure(let error):
          return .failure(error.description)
        }
      case .metrics:
        return ControlReply(ok: true, body: metricsText())
      case .export(let id):
        for answer in try askWorkers(.export(id)) {
          if case .exported(let row?) = answer { return ControlReply(ok: true, body: StreamRecord.encode(row) + "\n") }
        }
        return .failure("no stream '\(id)'")
      case .importState(let record):
        let row = try StreamRecord.decode(record)
        let worker = Int(StableHash.fnv1a(row.id) % UInt64(workerCount))
        switch try askWorker(worker, .install(row)) {
        case .refused(let why): return .failure("import of '\(row.id)' refused: \(why)")
        default:
          let message = "imported \(row.id): \(row.samples) samples learned"
          return ControlReply(ok: true, body: request.json ? "{\"message\":\(quote(message))}\n" : message + "\n")
        }
      }
    } catch {
      return .failure(error.description)
    }
  }

  private func gatherSummaries(only id: String?) throws(DaemonError) -> [StreamSummary] {
    var result: [StreamSummary] = []
    for answer in try askWorkers(.summaries(only: id)) {
      if case .summaries(let list) = answer { result.append(contentsOf: list) }
    }
    return result
  }

  func infoReport(section: String?) -> InfoReport {
    let config = configuration.withLock { $0 }
    let bound = boundEndpoints
    let (scoredRate, receivedRate) = rates.perSecond
    let uptime = Date().timeIntervalSince(startTime)
    var sections: [InfoReport.Section] = []
    func want(_ name: String) -> Bool { section == nil || section == name }
    if want("server") {
      sections.append(
        .init(
          "server",
          [
            ("anomalyd_version", .text(Daemon.version)),
            ("libzmq_version", .text(Context.version)),
            ("process_id", .int(Int64(getpid()))),
            ("uptime_in_seconds", .int(Int64(uptime))),
            ("workers", .int(Int64(workerCount))),
            ("config_file", configPath.map { .text($0) } ?? .none("(built-in defaults)")),
            ("control_socket", .text(bound?.control ?? "")),
            ("metrics_endpoint", bound?.metrics.map { .text("http://\($0)/metrics") } ?? .none("off")),
            ("used_memory_rss_bytes", .int(ProcessMemory.residentBytes())),
            ("curve", .bool(config.security.curveKeys != nil)),
            ("curve_server_key", config.security.curveKeys.map { .text($0.publicKey) } ?? .none("-")),
            ("curve_clients_accepted", .uint(security.accepted.value)),
            ("curve_clients_denied", .uint(security.denied.value)),
            ("reloads", .uint(counters.reloads.value)),
            ("reload_failures", .uint(counters.reloadFailures.value)),
          ]))
    }
    if want("ingest") {
      var fields: [(String, InfoReport.Value)] = [
        (
          "endpoints",
          .list(
            (config.ingest.bind.map { "bind " + $0 } + config.ingest.connect.map { "connect " + $0 }).map { .text($0) })
        ),
        ("bound_endpoint", .text(bound?.ingest ?? "")),
        ("subscriptions", .list(config.ingest.subscribe.map { .text($0) })),
        ("messages_received", .uint(counters.messagesReceived.value)),
        ("shard", .text(config.server.shard.description)),
        ("messages_other_shard", .uint(counters.messagesOtherShard.value)),
        ("messages_other_partition", .uint(counters.messagesOtherPartition.value)),
        ("samples_not_owned", .uint(counters.samplesNotOwned.value)),
        ("samples_received", .uint(counters.samplesReceived.value)),
        ("samples_scored", .uint(counters.samplesScored.value)),
        ("samples_dropped", .uint(counters.samplesDropped.value)),
        ("rejected_total", .uint(counters.rejectedTotal)),
      ]
      for (reason, count) in counters.rejectedByReason {
        fields.append(("rejected_\(reason.rawValue)", .uint(count)))
      }
      fields.append(("timestamps_backwards", .uint(counters.timestampsBackwards.value)))
      fields.append(("queued_samples", .int(Int64(workerQueues.reduce(0) { $0 + $1.depth }))))
      fields.append(("messages_per_second", .double((receivedRate * 10).rounded() / 10)))
      fields.append(("samples_scored_per_second", .double((scoredRate * 10).rounded() / 10)))
      sections.append(.init("ingest", fields))
    }
    if want("streams") {
      sections.append(
        .init(
          "streams",
          [
            ("streams", .int(Int64(counters.streams.load(ordering: .relaxed)))),
            ("max_streams", .int(Int64(config.ingest.maxStreams))),
            ("stream_eviction", .text(config.ingest.streamEviction.rawValue)),
            ("streams_evicted", .uint(counters.streamsEvicted.value)),
            ("keep_evicted_state", .bool(keepsEvictedState.load(ordering: .relaxed))),
            ("streams_resumed", .uint(counters.streamsResumed.value)),
            ("evicted_states_dropped", .uint(counters.evictedStatesDropped.value)),
            ("anomalies_total", .uint(counters.anomalies.value)),
          ]))
    }
    if want("model") {
      let d = config.detector
      sections.append(
        .init(
          "model",
          [
            ("model", .text("GRU + scaled dot-product attention over a sliding window")),
            // As configured (0 = automatic), then what a new stream of one or several channels gets.
            ("hidden", .int(Int64(d.hidden))),
            ("hidden_one_channel", .int(Int64(d.hiddenSize(channels: 1)))),
            ("hidden_several_channels", .int(Int64(d.hiddenSize(channels: 2)))),
            ("attention_dim", .int(Int64(d.attentionDim))),
            ("window", .int(Int64(d.window))),
            ("parameters_per_univariate_stream", .int(Int64(d.modelShape(channels: 1).parameterCount))),
            ("learning_rate", .double(d.learningRate)),
            ("anomaly_learning_factor", .double(d.anomalyLearningFactor)),
            ("relearn_fraction", .double(d.relearnFraction)),
            // The read-out refitted by recursive least squares (0: off).
            ("readout_memory", .int(Int64(d.readoutMemory))),
            ("readout_prior", .double(d.readoutPrior)),
            ("history_length", .int(Int64(d.historyLength))),
            ("history_match", .int(Int64(d.historyMatch))),
            // As configured (0 = automatic), then what a new stream of one or several channels gets.
            ("warmup_samples", .int(Int64(d.warmup))),
            ("warmup_one_channel", .int(Int64(d.warmupLength(channels: 1)))),
            ("warmup_several_channels", .int(Int64(d.warmupLength(channels: 2)))),
            ("threshold", .text("SPOT-style GPD tail fit over the last \(d.thresholdWindow) errors")),
            ("threshold_level", .double(d.thresholdLevel)),
            ("risk", .double(d.risk)),
            // The slow scale's block length and the seasonal check's correlation (0: off).
            ("slow_block", .int(Int64(d.slowBlock))),
            ("seasonal_correlation", .double(d.slowBlock > 0 ? d.seasonalCorrelation : 0)),
            // Streams of 2 up to this many channels get the cross-channel check (0: off).
            ("cross_channel_limit", .int(Int64(d.crossChannelLimit))),
            ("discrete_values", .int(Int64(d.discreteValues))),
            ("seed", .uint(d.seed)),
          ]))
    }
    if want("persistence") {
      let last = persistence.lastCheckpointMs.load(ordering: .relaxed)
      sections.append(
        .init(
          "persistence",
          [
            ("state_file", stateFile.withLock { $0 }.map { .text($0) } ?? .none("none (persistence off)")),
            ("checkpoint_interval_seconds", .double(config.server.checkpointInterval)),
            ("streams_restored", .uint(persistence.restored.value)),
            ("restore_failures", .uint(persistence.restoreFailures.value)),
            ("checkpoints_written", .uint(persistence.checkpoints.value)),
            ("checkpoint_streams_written", .uint(persistence.streamsWritten.value)),
            ("checkpoint_failures", .uint(persistence.failures.value)),
            ("checkpoint_streams_in_progress", .int(Int64(persistence.writing.load(ordering: .relaxed)))),
            (
              "last_checkpoint_age_seconds",
              last == 0
                ? .none("never") : .double((Date().timeIntervalSince1970 * 1000 - Double(last)).rounded() / 1000)
            ),
            ("last_error", persistence.lastError.withLock { $0.isEmpty ? .none("") : .text($0) }),
          ]))
    }
    if want("control") {
      sections.append(
        .init(
          "control",
          [
            ("connections_open", .int(Int64(controlCounters.open.load(ordering: .relaxed)))),
            ("max_connections", .int(Int64(config.control.maxConnections))),
            ("connections_accepted", .uint(controlCounters.accepted.value)),
            ("connections_refused", .uint(controlCounters.refused.value)),
            ("clients_timed_out", .uint(controlCounters.timedOut.value)),
            ("requests_oversized", .uint(controlCounters.oversized.value)),
          ]))
    }
    if want("publish") {
      sections.append(
        .init(
          "publish",
          [
            (
              "endpoints",
              .list(
                (config.publish.bind.map { "bind " + $0 } + config.publish.connect.map { "connect " + $0 }).map {
                  .text($0)
                })
            ),
            ("bound_endpoint", .text(bound?.publish ?? "")),
            ("mode", .text(config.publish.mode.rawValue)),
            ("events_published", .uint(counters.eventsPublished.value)),
            ("events_dropped", .uint(counters.eventsDropped.value)),
            ("queued_event_batches", .int(Int64(publishQueue.depth))),
            (
              "alertmanager_url",
              config.publish.alertmanagerURL.isEmpty ? .none("off") : .text(config.publish.alertmanagerURL)
            ),
            ("alerts_firing", .int(Int64(alertCounters.open.load(ordering: .relaxed)))),
            ("alerts_sent", .uint(alertCounters.sent.value)),
            ("alert_send_failures", .uint(alertCounters.failures.value)),
            ("alerts_dropped", .uint(alertCounters.dropped.value)),
            ("alertmanager_last_error", alertCounters.lastError.withLock { $0.isEmpty ? .none("") : .text($0) }),
          ]))
    }
    if want("cluster") { sections.append(clusterSection()) }
    return InfoReport(sections)
  }

  func streamSection(_ s: StreamSummary) -> InfoReport.Section {
    let eventRate = eventRateValues(s.eventRate)
    return .init(
      "stream",
      [
        ("id", .text(s.id)),
        ("channels", .int(Int64(s.channels))),
        ("hidden", .int(Int64(s.hidden))),
        ("samples", .uint(s.samples)),
        ("anomalies", .uint(s.anomalies)),
        ("events_per_10k_readings", eventRate.per10k),
        ("reading_interval_seconds", eventRate.interval),
        ("events_per_day", eventRate.perDay),
        ("warmup", .int(Int64(s.warmup))),
        ("warming_up", .bool(s.warmingUp)),
        ("in_episode", .bool(s.inEpisode)),
        ("slow_blocks", s.slowBlocks.map { .uint($0) } ?? .none("off")),
        (
          "seasonal_period",
          s.seasonalPeriods.map { .list($0.map { $0 > 0 ? .int(Int64($0)) : .none("none") }) } ?? .none("off")
        ),
        ("cross_channel", .bool(s.checksCrossChannel)),
        ("last_seen", timeValue(s.lastSeenMs)),
        ("last_anomaly", timeValue(s.lastAnomalyMs)),
        ("last_score", .double(s.lastScore)),
        ("last_error", .double(s.lastError)),
        ("last_reason", .text(s.lastReason)),
        ("repeat_run", .int(Int64(s.repeatRun))),
        ("threshold", .double(s.threshold)),
        ("error_threshold", .double(s.errorThreshold)),
        ("mean", .list(s.mean.map { .double($0) })),
        ("scale", .list(s.scale.map { .double($0) })),
        // Rounded to 4 decimals: a sparkline's worth of precision.
        ("recent_scores", .list(s.recentScores.map { .double(($0 * 1e4).rounded() / 1e4) })),
        ("last_event_moments", .list(s.lastMoments.map(momentValue))),
        ("last_event_channels", .list(s.lastErrorChannels.map { .int(Int64($0)) })),
        ("feedback_false_alarms", .int(Int64(s.feedbackPatterns))),
        ("feedback_suppressed", .uint(s.feedbackSuppressed)),
      ])
  }

  /// A stream's event rates as `stream` shows them, rounded to a thousandth of an event.
  private func eventRateValues(
    _ rate: EventRate
  ) -> (per10k: InfoReport.Value, interval: InfoReport.Value, perDay: InfoReport.Value) {
    func rounded(_ value: Double?, _ missing: String) -> InfoReport.Value {
      value.map { .double(($0 * 1e3).rounded() / 1e3) } ?? .none(missing)
    }
    let interval: InfoReport.Value = rate.readingIntervalSeconds.map { .double($0) } ?? .none("unknown")
    return (rounded(rate.per10kReadings, "warming_up"), interval, rounded(rate.perDay, "unknown"))
  }

  /// One of an event's past moments, as `stream` shows it.
  private func momentValue(_ m: ScoreEvent.Moment) -> InfoReport.Value {
    let values: [InfoReport.Value] = [
      timeValue(m.timestampMs ?? 0), .int(Int64(m.readingsBack)), .double((m.weight * 1e4).rounded() / 1e4),
    ]
    return .object(keys: ["ts", "readings_back", "weight"], values: values)
  }

  /// An RFC 3339 time, or `never` (null in JSON) for 0.
  private func timeValue(_ ms: Int64) -> InfoReport.Value {
    ms == 0 ? .none("never") : .text(formatTime(ms))
  }

  func streamsText(_ list: [StreamSummary]) -> String {
    var out = "stream\tchannels\tsamples\tanomalies\tlast_seen\tscore\terror_threshold\n"
    for s in list {
      let threshold =
        s.errorThreshold.isFinite ? String(format: "%.4g", s.errorThreshold) : (s.warmingUp ? "warming-up" : "-")
      out += "\(s.id)\t\(s.channels)\t\(s.samples)\t\(s.anomalies)\t\(formatTime(s.lastSeenMs))\t"
      out += String(format: "%.4f", s.lastScore) + "\t\(threshold)\n"
    }
    return out
  }

  func streamsJSON(_ list: [StreamSummary]) -> String {
    let rows = list.map { s in
      var line = "{\"stream\":\(quote(s.id)),\"channels\":\(s.channels),\"samples\":\(s.samples),"
      line +=
        "\"anomalies\":\(s.anomalies),\"last_seen_ms\":\(s.lastSeenMs),\"warming_up\":\(s.warmingUp),\"in_episode\":\(s.inEpisode),"
      var score: [UInt8] = []
      JSONText.appendNumber(s.lastScore, to: &score)
      var threshold: [UInt8] = []
      JSONText.appendNumber(s.errorThreshold, to: &threshold)
      line +=
        "\"score\":\(String(decoding: score, as: UTF8.self)),\"error_threshold\":\(String(decoding: threshold, as: UTF8.self))}"
      return line
    }
    return "[" + rows.joined(separator: ",") + "]\n"
  }
}

func formatTime(_ ms: Int64) -> String {
  guard ms != 0 else { return "never" }
  let formatter = ISO8601DateFormatter()
  formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
  return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
}

/// Reads the process's resident memory from /proc.
enum ProcessMemory {
  static func residentBytes() -> Int64 {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int64(fields[1]) else { return 0 }
    return pages * Int64(sysconf(Int32(_SC_PAGESIZE)))
  }
}
