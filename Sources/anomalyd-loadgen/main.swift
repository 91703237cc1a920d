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
  @Option(help: "Messages per second (default: as fast as possible).")
  var rate: Double?
  @Option(help: "The daemon's event endpoint: measure publish → event latency (needs publish.mode = \"all\").")
  var events: String?
  @Flag(
    help: """
      With --events: no daemon; a relay thread here binds --endpoint (SUB) and --events (PUB) \
      and forwards each sample as an event at once, so the latency is libzmq's two hops alone.
      """)
  var relay = false

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
    if let events {
      if relay { try startRelay(context: context, ingest: endpoint, events: events, streamCount: topics.count) }
      try measureLatency(context: context, topics: topics, payloads: payloads, eventEndpoint: events)
      return
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
    let nanosecondsPerMessage = rate.map { 1e9 / $0 }
    for i in 0..<messages {
      if let nanosecondsPerMessage, i % 256 == 0 {
        // Paced: every 256 messages, wait until the schedule catches up.
        let due = start + UInt64(Double(i) * nanosecondsPerMessage)
        let now = DispatchTime.now().uptimeNanoseconds
        if due > now { usleep(UInt32((due - now) / 1000)) }
      }
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

  /// The floor under the daemon's latency: the same two libzmq hops (sample in, event out)
  /// with one thread between them that does no work but number the events per stream.
  func startRelay(context: Context, ingest: String, events: String, streamCount: Int) throws {
    let sub = try Socket(context, .sub)
    try sub.subscribe([])
    try sub.bind(ingest)
    let pub = try Socket(context, .pub)
    try pub.bind(events)
    nonisolated(unsafe) let sockets = (sub, pub)
    Thread {
      let (sub, pub) = sockets
      var sequences = [UInt64](repeating: 0, count: streamCount)
      let topic = Frame()
      let payload = Frame()
      do {
        while true {
          _ = try sub.receive(into: topic)
          _ = try sub.receive(into: payload)
          // Only this generator's topics ("load.<n>") are numbered; anything else is skipped.
          guard let stream = Int(String(decoding: topic.bytes.dropFirst(5), as: UTF8.self)),
            sequences.indices.contains(stream)
          else { continue }
          var sequence = UInt64(sequences[stream]).littleEndian
          sequences[stream] += 1
          _ = try pub.send(Array(topic.bytes), more: true)
          _ = try pub.send(Array(payload.bytes), more: true)
          _ = try withUnsafeBytes(of: &sequence) { bytes throws(ZMQError) in try pub.send(bytes) }
        }
      } catch {
        // The context is torn down when the measurement ends.
      }
    }.start()
  }

  /// Sends at `rate` (one text sample per message, round-robin over the streams) and times
  /// each score event against its sample's send time. Sample i is the (i / streams)-th of
  /// stream i % streams, so its event is that stream's event with that sequence number.
  func measureLatency(context: Context, topics: [[UInt8]], payloads: [[UInt8]], eventEndpoint: String) throws {
    let count = messages
    let streamCount = topics.count
    let sendTimes = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: count)
    let receiveTimes = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: count)
    sendTimes.initialize(repeating: 0)
    receiveTimes.initialize(repeating: 0)
    defer {
      sendTimes.deallocate()
      receiveTimes.deallocate()
    }
    nonisolated(unsafe) let received = receiveTimes
    let ready = DispatchSemaphore(value: 0)
    let done = DispatchSemaphore(value: 0)
    let receiver = Thread {
      defer { done.signal() }
      do {
        let sub = try Socket(context, .sub)
        try sub.receiveHighWaterMark(0)
        try sub.subscribe(Array("load.".utf8))
        try sub.connect(eventEndpoint)
        ready.signal()
        var polls = PollSet()
        polls.add(sub)
        let topic = Frame()
        let body = Frame()
        let sequence = Frame()
        var got = 0
        var idle = 0
        while got < count && idle < 50 {
          guard try polls.poll(timeoutMilliseconds: 100) > 0 else {
            idle += 1
            continue
          }
          idle = 0
          while try sub.receive(into: topic, wait: false) {
            _ = try sub.receive(into: body)
            _ = try sub.receive(into: sequence)
            let now = DispatchTime.now().uptimeNanoseconds
            let stream = Int(String(decoding: topic.bytes.dropFirst(5), as: UTF8.self)) ?? 0
            let seq = Int(UInt64(littleEndian: sequence.bytes.loadUnaligned(as: UInt64.self)))
            let index = seq * streamCount + stream
            if index < count { received[index] = now }
            got += 1
          }
        }
        sub.close()
      } catch {
        FileHandle.standardError.write(Data("event receiver: \(error)\n".utf8))
        ready.signal()
      }
    }
    receiver.start()
    ready.wait()
    Thread.sleep(forTimeInterval: 0.5)  // let the subscription reach the daemon
    let pub = try Socket(context, .xpub)
    try pub.setOption(SocketOption.xpubNoDrop, Int32(1))
    try pub.sendHighWaterMark(100_000)
    try pub.connect(endpoint)
    let subscription = Frame()
    _ = try pub.receive(into: subscription)
    let interval = UInt64(1e9 / (rate ?? 50_000))
    // Sleep to each send time rather than spin: a spinning generator would take a whole core
    // of the two from the daemon it measures. A 1 ns timer slack (prctl's PR_SET_TIMERSLACK, through
    // /proc since prctl is variadic) makes the kernel wake us
    // within microseconds instead of its default 50 µs; any lateness is in the send time
    // recorded, so it does not bias the latency.
    try? "1".write(toFile: "/proc/thread-self/timerslack_ns", atomically: false, encoding: .utf8)
    let start = DispatchTime.now().uptimeNanoseconds
    for i in 0..<count {
      let due = start + UInt64(i) * interval
      let now = DispatchTime.now().uptimeNanoseconds
      if due > now {
        var wait = timespec(tv_sec: Int((due - now) / 1_000_000_000), tv_nsec: Int((due - now) % 1_000_000_000))
        nanosleep(&wait, nil)
      }
      sendTimes[i] = DispatchTime.now().uptimeNanoseconds
      try pub.send(topics[i % streamCount], more: true)
      try pub.send(payloads[i % payloads.count])
    }
    done.wait()
    var latencies: [Double] = []
    latencies.reserveCapacity(count)
    for i in 0..<count where receiveTimes[i] > 0 { latencies.append(Double(receiveTimes[i] - sendTimes[i]) / 1000) }
    latencies.sort()
    guard !latencies.isEmpty else {
      print("no events received: is publish.mode = \"all\"?")
      throw ExitCode(1)
    }
    func percentile(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    print(
      String(
        format:
          "latency publish → event at %.0f msg/s over %d streams, %d of %d events: p50 %.1f µs, p99 %.1f µs, p99.9 %.1f µs, max %.1f µs (%.1f s)",
        rate ?? 50_000, streamCount, latencies.count, count, percentile(0.5), percentile(0.99), percentile(0.999),
        latencies.last!, elapsed))
  }
}
