import ArgumentParser
import Wire
import ZeroMQ

#if canImport(Glibc)
  import Glibc
#endif

/// `anomalyctl publish`: how users pipe sensor data into the daemon.
struct Publish: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Read sample lines on stdin and publish them to anomalyd over ZeroMQ.",
    discussion: """
      Each line is one sample in the text format: `value`, `v1,v2,…`, or `timestamp,v1,…` \
      (timestamp = @unix-seconds or an RFC 3339 date). Lines are checked here first; a bad \
      line is reported on stderr with its number and skipped (--strict stops instead).

      The command waits until the daemon's subscription has arrived before sending, so the \
      first lines are not lost to ZeroMQ's slow-joiner effect, and it never drops a line: \
      when the daemon is slower than the pipe, it waits.

      Example: tail -F /var/log/boiler.log | anomalyctl publish boiler.temp
      """)

  @Argument(help: "Stream id (the ZeroMQ topic) to publish under.")
  var stream: String

  @Option(name: .long, help: "The daemon's ingest endpoint.")
  var endpoint = "tcp://127.0.0.1:5556"

  @Option(name: .long, help: "Seconds to wait for the daemon to subscribe.")
  var wait = 5.0

  @Flag(name: .long, help: "Skip the first line (a CSV header).")
  var skipHeader = false

  @Flag(name: .long, help: "Stop at the first invalid line instead of skipping it.")
  var strict = false

  @OptionGroup var curve: CurveOptions

  func validate() throws {
    guard !stream.isEmpty, stream.utf8.count <= 4096 else {
      throw ValidationError("the stream id must be 1…4096 bytes")
    }
  }

  func run() throws {
    let context = try Context()
    let socket = try Socket(context, .xpub)
    // With NODROP a full queue makes send report EAGAIN instead of discarding the message.
    try socket.setOption(SocketOption.xpubNoDrop, Int32(1))
    try socket.sendHighWaterMark(100_000)
    try curve.apply(to: socket)
    try socket.connect(endpoint)
    try waitForSubscriber(socket)

    let topic = Array(stream.utf8)
    let reader = LineReader(fileDescriptor: STDIN_FILENO)
    var sent = 0
    var skipped = 0
    while let line = reader.next() {
      if skipHeader && reader.lineNumber == 1 { continue }
      if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
      do {
        _ = try SampleDecoder.decode(line)
      } catch {
        printError("line \(reader.lineNumber): \(error.message)")
        if strict { throw ExitCode(1) }
        skipped += 1
        continue
      }
      try sendBlocking(socket, topic, line)
      sent += 1
    }
    // Give queued messages time to reach the daemon before the context is torn down.
    try socket.linger(milliseconds: 10_000)
    socket.close()
    printError(
      "anomalyctl publish: sent \(sent) samples to \(endpoint) as '\(stream)'"
        + (skipped > 0 ? ", skipped \(skipped) invalid lines" : ""))
    if skipped > 0 { throw ExitCode(1) }
  }

  private func waitForSubscriber(_ socket: Socket) throws {
    var polls = PollSet()
    polls.add(socket)
    let frame = Frame()
    let deadline = monotonicSeconds() + wait
    while monotonicSeconds() < deadline {
      let remaining = Int((deadline - monotonicSeconds()) * 1000)
      guard try polls.poll(timeoutMilliseconds: max(1, remaining)) > 0 else { continue }
      // XPUB delivers subscriptions as messages: 0x01 followed by the prefix.
      if try socket.receive(into: frame, wait: false), frame.bytes.first == 1 { return }
    }
    printError(
      "anomalyctl publish: no subscriber on \(endpoint) after \(wait) s (is anomalyd running and bound there?)")
    throw ExitCode(2)
  }

  private func sendBlocking(_ socket: Socket, _ topic: [UInt8], _ payload: [UInt8]) throws {
    var polls = PollSet()
    polls.add(socket, events: SocketOption.pollOut)
    while !(try socket.send(topic, more: true, wait: false)) {
      _ = try polls.poll(timeoutMilliseconds: 100)
    }
    while !(try socket.send(payload, wait: false)) {
      _ = try polls.poll(timeoutMilliseconds: 100)
    }
  }
}

func monotonicSeconds() -> Double {
  var now = timespec()
  clock_gettime(CLOCK_MONOTONIC, &now)
  return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}
