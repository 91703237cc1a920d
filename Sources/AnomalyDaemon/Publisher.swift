import DaemonConfig
import Logging
import ZeroMQ

/// The publisher thread: owns the PUB socket and sends each event as
/// `topic | body | sequence`. It never blocks ingest: workers hand it batches through a
/// bounded queue, and a slow subscriber only costs that subscriber messages (libzmq drops past
/// the send high-water mark; the per-stream sequence lets the subscriber see the gap).
final class Publisher {
  private let socket: Socket
  private let queue: BlockingQueue<[OutgoingEvent]>
  private let counters: Counters
  private let logger: Logger

  init(
    context: Context, config: DaemonConfiguration.Publish, curve: CurveKeyPair?,
    queue: BlockingQueue<[OutgoingEvent]>, counters: Counters, logger: Logger
  ) throws(ZMQError) {
    socket = try Socket(context, .pub)
    if let secret = curve?.secretKey { try socket.makeCurveServer(secretKey: secret, domain: "anomalyd") }
    try socket.sendHighWaterMark(Int32(clamping: config.sendHighWaterMark))
    for endpoint in config.bind { try socket.bind(endpoint) }
    for endpoint in config.connect { try socket.connect(endpoint) }
    self.queue = queue
    self.counters = counters
    self.logger = logger
  }

  var boundEndpoint: String { (try? socket.lastEndpoint()) ?? "" }

  /// `beat` is called at every turn of the loop (`Heartbeats`).
  func run(beat: () -> Void = {}, shouldStop: @Sendable () -> Bool) {
    while true {
      beat()
      guard let events = queue.pop(timeout: 0.1) else {
        if shouldStop() { break }
        continue
      }
      for event in events {
        do {
          try socket.send(event.topic, more: true)
          try socket.send(event.body, more: true)
          try socket.send(event.sequence)
          counters.eventsPublished.add(1)
        } catch {
          counters.eventsDropped.add(1)
          logger.error("publish: \(error)")
          if error.isTerminated { return }
        }
      }
    }
    socket.close()
  }
}
