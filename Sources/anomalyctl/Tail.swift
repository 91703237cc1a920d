import ArgumentParser
import ZeroMQ

/// `anomalyctl tail`: watch score events as they are published.
struct Tail: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Subscribe to anomalyd's score events and print them, one per line.",
    discussion: """
      Each line is `<stream> <sequence> <JSON body>`. A gap in a stream's sequence numbers \
      (events lost on the way, e.g. to a slow subscriber) is reported on stderr.
      """)

  @Argument(help: "Only streams whose id starts with this prefix (default: all).")
  var prefix = ""

  @Option(name: .long, help: "The daemon's event endpoint.")
  var endpoint = "tcp://127.0.0.1:5557"

  @Option(name: .long, help: "Exit after this many events.")
  var count: Int?

  @Option(name: .long, help: "Exit after this many seconds.")
  var timeout: Double?

  @OptionGroup var curve: CurveOptions

  func run() throws {
    let context = try Context()
    let socket = try Socket(context, .sub)
    try socket.subscribe(Array(prefix.utf8))
    try curve.apply(to: socket)
    try socket.connect(endpoint)
    var polls = PollSet()
    polls.add(socket)
    let frame = Frame()
    var lastSequence: [String: UInt64] = [:]
    var received = 0
    let deadline = timeout.map { monotonicSeconds() + $0 }
    let out = OutputBuffer(fileDescriptor: 1)
    while count.map({ received < $0 }) ?? true {
      if let deadline, monotonicSeconds() >= deadline { break }
      guard try polls.poll(timeoutMilliseconds: 100) > 0 else { continue }
      while try socket.receive(into: frame, wait: false) {
        var parts = [frame.array]
        while frame.hasMore {
          _ = try socket.receive(into: frame, wait: true)
          parts.append(frame.array)
        }
        guard parts.count == 3, parts[2].count == 8 else {
          printError("anomalyctl tail: unexpected message with \(parts.count) frames")
          continue
        }
        let stream = String(decoding: parts[0], as: UTF8.self)
        let sequence = parts[2].withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        if let last = lastSequence[stream], sequence != last &+ 1 {
          printError("anomalyctl tail: \(stream): sequence jumped from \(last) to \(sequence) (events lost)")
        }
        lastSequence[stream] = sequence
        out.write("\(stream) \(sequence) ")
        out.write(bytes: parts[1])
        out.write("\n")
        out.flush()
        received += 1
        if let count, received >= count { break }
      }
    }
  }
}
