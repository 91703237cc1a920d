import AnomalyModel
import DaemonConfig
import Synchronization

/// The settings threads read while running, replaced as a whole by a reload.
struct RuntimeSettings: Sendable {
  var detector: DetectorConfiguration
  var publishMode: DaemonConfiguration.PublishMode
  var maxStreams: Int
  var evictLeastRecentlyUsed: Bool
  var maxTopicBytes: Int
  /// Readings each new stream keeps for plots (`server.stream_history`).
  var streamHistory: Int

  init(_ config: DaemonConfiguration) {
    detector = config.detector
    publishMode = config.publish.mode
    maxStreams = config.ingest.maxStreams
    evictLeastRecentlyUsed = config.ingest.streamEviction == .lru
    maxTopicBytes = config.ingest.maxTopicBytes
    streamHistory = config.server.streamHistory
  }
}

/// Holder of the current `RuntimeSettings`; readers take a copy once per batch.
final class SharedSettings: Sendable {
  private let current: Mutex<RuntimeSettings>

  init(_ settings: RuntimeSettings) {
    current = Mutex(settings)
  }

  var snapshot: RuntimeSettings { current.withLock { $0 } }

  func replace(_ settings: RuntimeSettings) {
    current.withLock { $0 = settings }
  }
}
