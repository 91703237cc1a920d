import ArgumentParser
import Foundation
import Synchronization
import Wire
import ZeroMQ

/// `anomalyd-loadgen`: publishes synthetic sensor samples at full speed, as fast as libzmq
/// takes them, for the throughput benchmarks (tools/loadtest.sh, docs/performance.md).
@main
struct LoadGenerator: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "anomalyd-loadgen",
    abstract: "Publish synthetic samples to anomalyd at full speed (or measure raw libzmq PUB/SUB).",
    discussion: """
      Without --raw: connects an XPUB socket to the daemon's ingest endpoint, waits for its \
      subscription, sends --messages messages round-robin over --streams stream ids and prints \
      the send rate. With --raw: binds a SUB socket itself and receives in a second thread, \
      so the same messages measure libzmq alone, with no daemon in between.
      """)

  @Option(help: "Ingest endpoint (connect), or the endpoint to bind with --raw.")
  var endpoint = "tcp://127.0.0.1:5556"
  @Option(help: "Distinct stream ids.")
  var streams = 1
  @Option(help: "Messages to send.")
  var messages = 1_000_000
  @Option(help: "Samples per message: 0 sends one text sample, N ≥ 1 a binary frame of N samples.")
  var batch = 0
  @Flag(help: "Measure libzmq alone: receive in-process instead of sending to a daemon.")
  var raw = false

  func run() throws {
    let context = try Context()
    let topics = (0..<streams).map { Array("load.\($0)".utf8) }
    let payloads: [[UInt8]] =
      batch == 0
      ? (0..<64).map { Array(String(20 + Double($0 % 17) * 0.25).utf8) }
      : [
        BinaryFrame.encode(
          timestamps: Array(repeating: DecodedSamples.noTimestamp, count: batch),
          values: (0..<batch).map { 20 + Double($0 % 17) * 0.25 }, channels: 1)
      ]
    let received = Atomic<Int>(0)
    var receiver: Thread?
    let done = DispatchSemaphore(value: 0)
    if raw {
      let ready = DispatchSemaphore(value: 0)
      let (endpoint, messages) = (endpoint, messages)
      receiver = Thread {
        do {
          let sub = try Socket(context, .sub)
          try sub.receiveHighWaterMark(0)
          try sub.subscribe([])
          try sub.bind(endpoint)
          ready.signal()
          let frame = Frame()
          var count = 0
          while count < messages {
            _ = try sub.receive(into: frame)
            if !frame.hasMore { count += 1 }
          }
          received.store(count, ordering: .relaxed)
          sub.close()
        } catch {
          FileHandle.standardError.write(Data("receiver: \(error)\n".utf8))
          ready.signal()
        }
        done.signal()
      }
      receiver?.start()
      ready.wait()
    }
    let pub = try Socket(context, .xpub)
    try pub.setOption(SocketOption.xpubNoDrop, Int32(1))
    try pub.sendHighWaterMark(100_000)
    try pub.connect(endpoint)
    let subscription = Frame()
    _ = try pub.receive(into: subscription)  // blocks until the subscriber's subscription arrives

    let start = DispatchTime.now().uptimeNanoseconds
    var polls = PollSet()
    polls.add(pub, events: SocketOption.pollOut)
    for i in 0..<messages {
      let topic = topics[i % topics.count]
      let payload = payloads[i % payloads.count]
      while !(try pub.send(topic, more: true, wait: false)) { _ = try polls.poll(timeoutMilliseconds: 10) }
      while !(try pub.send(payload, wait: false)) { _ = try polls.poll(timeoutMilliseconds: 10) }
    }
    let sent = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    let points = messages * max(batch, 1)
    if raw {
      done.wait()
      let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
      print(
        String(
          format: "raw libzmq: %d messages (%d points) received in %.3f s: %.0f msg/s, %.0f points/s",
          received.load(ordering: .relaxed), points, elapsed, Double(messages) / elapsed, Double(points) / elapsed))
    } else {
      print(
        String(
          format: "sent %d messages (%d points) over %d streams in %.3f s: %.0f msg/s, %.0f points/s",
          messages, points, streams, sent, Double(messages) / sent, Double(points) / sent))
    }
    try pub.linger(milliseconds: 30_000)
    pub.close()
  }
}
