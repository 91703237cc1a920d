import Foundation
import ZeroMQ

/// The Prometheus exposition: what `anomalyctl metrics`, `server.metrics_textfile` and the
/// `/metrics` scrape endpoint serve, one text for all three.
extension Daemon {
  /// Prometheus text exposition format 0.0.4: every counter `info` reports, then per-stream
  /// gauges for at most `server.metrics_max_streams` streams.
  func metricsText() -> String {
    var out = Exposition()
    out.family(
      "build_info", "gauge", "Always 1; the labels say which build runs.",
      [("{version=\"\(Daemon.version)\",libzmq=\"\(Context.version)\"}", "1")])
    out.single(
      "messages_received_total", "counter", "Messages taken off the ingest socket.", counters.messagesReceived.value)
    out.single(
      "messages_other_shard_total", "counter", "Messages skipped because their stream belongs to another shard.",
      counters.messagesOtherShard.value)
    out.single(
      "messages_other_partition_total", "counter",
      "Cluster mode: messages skipped because this instance does not hold their partition.",
      counters.messagesOtherPartition.value)
    out.single(
      "samples_not_owned_total", "counter",
      "Cluster mode: samples not scored because their partition's lease had lapsed or just moved.",
      counters.samplesNotOwned.value)
    out.single(
      "samples_received_total", "counter", "Samples decoded from accepted messages.", counters.samplesReceived.value)
    out.single("samples_scored_total", "counter", "Samples scored by a detector.", counters.samplesScored.value)
    out.single(
      "samples_dropped_total", "counter", "Samples dropped because a worker queue was full.",
      counters.samplesDropped.value)
    out.family(
      "rejected_total", "counter", "Messages or samples refused, by reason.",
      counters.rejectedByReason.map { ("{reason=\"\($0.0.rawValue)\"}", "\($0.1)") })
    out.single(
      "timestamps_backwards_total", "counter", "Samples whose timestamp went back (scored in arrival order).",
      counters.timestampsBackwards.value)
    out.single(
      "queued_samples", "gauge", "Samples waiting in the worker queues.", workerQueues.reduce(0) { $0 + $1.depth })
    out.single("anomalies_total", "counter", "Anomaly events raised.", counters.anomalies.value)
    out.single(
      "events_published_total", "counter", "Score events sent on the PUB socket.", counters.eventsPublished.value)
    out.single(
      "events_dropped_total", "counter", "Score events dropped before the PUB socket.", counters.eventsDropped.value)
    out.single("queued_event_batches", "gauge", "Event batches waiting for the PUB socket.", publishQueue.depth)
    out.single(
      "alerts_firing", "gauge", "Episodes firing as alerts in the Alertmanager.",
      alertCounters.open.load(ordering: .relaxed))
    out.single(
      "alerts_sent_total", "counter", "Alerts the Alertmanager accepted (firing, re-sent, resolved).",
      alertCounters.sent.value)
    out.single(
      "alert_send_failures_total", "counter", "POSTs to the Alertmanager that failed (retried).",
      alertCounters.failures.value)
    out.single(
      "alerts_dropped_total", "counter", "Episode starts dropped because the Alertmanager queue was full.",
      alertCounters.dropped.value)
    out.single("streams", "gauge", "Streams currently tracked.", counters.streams.load(ordering: .relaxed))
    out.single(
      "streams_evicted_total", "counter", "Streams forgotten to stay within ingest.max_streams.",
      counters.streamsEvicted.value)
    out.single(
      "streams_resumed_total", "counter", "Evicted streams that came back and resumed from their saved state.",
      counters.streamsResumed.value)
    out.single(
      "evicted_states_dropped_total", "counter", "Evicted streams whose state could not be queued for the state file.",
      counters.evictedStatesDropped.value)
    out.single(
      "streams_restored_total", "counter", "Streams restored from the state file at start.", persistence.restored.value)
    out.single(
      "restore_failures_total", "counter", "Saved streams that could not be restored (started anew).",
      persistence.restoreFailures.value)
    out.single(
      "checkpoints_written_total", "counter", "Checkpoint transactions committed to the state file.",
      persistence.checkpoints.value)
    out.single(
      "checkpoint_streams_written_total", "counter", "Stream states written by checkpoints.",
      persistence.streamsWritten.value)
    // Alert on this one: learned state is not being saved (full or read-only disk).
    out.single(
      "checkpoint_failures_total", "counter", "Checkpoints that failed (retried with the next one).",
      persistence.failures.value)
    out.single("reloads_total", "counter", "Configuration reloads applied.", counters.reloads.value)
    out.single(
      "reload_failures_total", "counter", "Reloads refused because the file was invalid.", counters.reloadFailures.value
    )
    out.single(
      "curve_clients_accepted_total", "counter", "CURVE clients whose key was accepted.", security.accepted.value)
    out.single("curve_clients_denied_total", "counter", "CURVE clients refused.", security.denied.value)
    out.single(
      "control_connections_accepted_total", "counter", "Control connections accepted.", controlCounters.accepted.value)
    out.single(
      "control_connections_refused_total", "counter", "Control connections refused past control.max_connections.",
      controlCounters.refused.value)
    out.single(
      "control_clients_timed_out_total", "counter", "Control connections dropped after 2 s unfinished.",
      controlCounters.timedOut.value)
    out.single(
      "control_requests_oversized_total", "counter", "Control requests longer than 4 MiB.",
      controlCounters.oversized.value)
    let lastCheckpoint = persistence.lastCheckpointMs.load(ordering: .relaxed)
    if lastCheckpoint != 0 {
      // Alert on this one too: no checkpoint for a long time means learning at risk.
      out.family(
        "last_checkpoint_timestamp_seconds", "gauge", "When the last checkpoint was committed (Unix time).",
        [("", Exposition.number(Double(lastCheckpoint) / 1000))])
    }
    appendClusterCounters(to: &out)
    out.family(
      "uptime_seconds", "gauge", "Seconds since the daemon started.",
      [("", String(format: "%.0f", Date().timeIntervalSince(startTime)))])
    out.single("resident_memory_bytes", "gauge", "Resident set size of the process.", ProcessMemory.residentBytes())
    appendStreamGauges(to: &out)
    return out.text
  }

  /// Only in cluster mode: a single host has no leases to lose.
  private func appendClusterCounters(to out: inout Exposition) {
    guard let cluster else { return }
    out.single(
      "cluster_partitions_held", "gauge", "Partitions whose lease this instance holds.",
      cluster.view.withLock { $0.held.count })
    out.single(
      "cluster_handovers_total", "counter", "Partitions this instance took over (each raised the lease epoch).",
      cluster.partitionsTaken.value)
    out.single(
      "cluster_partitions_handed_over_total", "counter", "Partitions given up after writing their streams' state.",
      cluster.partitionsHandedOver.value)
    out.single(
      "cluster_lease_losses_total", "counter", "Partitions whose lease lapsed or was taken before it was given up.",
      cluster.leaseLosses.value)
    out.single(
      "cluster_failures_total", "counter", "Turns with the cluster database that failed.", cluster.failures.value)
    out.single(
      "cluster_fenced_writes_total", "counter", "Stream states not written: their partition's lease had moved on.",
      persistence.fenced.value)
  }

  private func appendStreamGauges(to out: inout Exposition) {
    let limit = configuration.withLock { $0.server.metricsMaxStreams }
    var shown: [StreamGauges] = []
    var total = 0
    do {
      for answer in try askWorkers(.gauges(limit: limit)) {
        if case .gauges(let list, let count) = answer {
          shown += list
          total += count
        }
      }
    } catch {
      // The per-stream families are left out of this scrape; the counters above still hold.
      RateLimitedLog.shared.note("metrics_streams", logger, "per-stream metrics left out: \(error)")
      return
    }
    shown.sort { $0.id < $1.id }
    if shown.count > limit { shown.removeLast(shown.count - limit) }
    out.single(
      "metrics_streams_omitted", "gauge",
      "Streams without per-stream series in this scrape (past server.metrics_max_streams).", total - shown.count)
    out.perStream("stream_score", "gauge", "The last reading's anomaly score (0 to 1, 0.5 at the alarm level).", shown)
    {
      Exposition.number($0.score)
    }
    out.perStream(
      "stream_in_episode", "gauge",
      "1 while the stream is anomalous: from an event until its readings are back at their level.", shown
    ) {
      $0.inEpisode ? "1" : "0"
    }
    out.perStream("stream_warming_up", "gauge", "1 while the stream is still learning before it may alarm.", shown) {
      $0.warmingUp ? "1" : "0"
    }
    out.perStream(
      "stream_error_threshold", "gauge", "The reconstruction error that would score 0.5 now (NaN: not fitted yet).",
      shown
    ) { Exposition.number($0.errorThreshold) }
    out.perStream("stream_samples_total", "counter", "Readings scored.", shown) { "\($0.samples)" }
    out.perStream("stream_anomalies_total", "counter", "Anomaly events raised.", shown) { "\($0.anomalies)" }
    out.perStream("stream_last_seen_timestamp_seconds", "gauge", "When the last reading arrived (Unix time).", shown) {
      Exposition.number(Double($0.lastSeenMs) / 1000)
    }
  }
}
