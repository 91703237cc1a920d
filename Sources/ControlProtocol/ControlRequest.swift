/// The control socket's requests.
///
/// A client connects to the Unix socket, writes one line and reads the reply until the daemon
/// closes the connection:
///
///     request = ["json" SP] command LF
///     command = "info" [SP section] | "streams" | "stream" SP id | "history" SP id | "reset" SP id
///             | "feedback" SP verdict SP id
///             | "reload" | "metrics" | "ping" | "export" SP id | "import" SP json
///
/// A stream id is the rest of the line after the command word, so ids may contain spaces.
/// Requests longer than `maxLength` bytes are refused.
public enum ControlCommand: Equatable, Sendable {
  case info(section: String?)
  case streams
  case stream(id: String)
  /// A stream's recent readings as its detector saw them (`server.stream_history`).
  case history(id: String)
  /// The operator's verdict on one of a stream's events.
  case feedback(id: String, verdict: FeedbackVerdict)
  case reset(id: String)
  case reload
  case metrics
  case ping
  /// One stream's learned state as a JSON record (to move it to another instance).
  case export(id: String)
  /// Install a record produced by `export`, replacing the stream's state.
  case importState(record: String)

  /// Sections `info` knows, in the order it prints them.
  public static let infoSections = [
    "server", "ingest", "streams", "model", "persistence", "control", "publish", "cluster",
  ]
}

public struct ControlRequest: Equatable, Sendable {
  /// Longest request line; large enough for an `import` record of a big model.
  public static let maxLength = 1 << 22

  public var command: ControlCommand
  /// Reply as JSON instead of text.
  public var json: Bool

  public init(_ command: ControlCommand, json: Bool = false) {
    self.command = command
    self.json = json
  }

  /// The request line, without the trailing newline.
  public var line: String {
    let prefix = json ? "json " : ""
    switch command {
    case .info(let section): return prefix + (section.map { "info \($0)" } ?? "info")
    case .streams: return prefix + "streams"
    case .stream(let id): return prefix + "stream \(id)"
    case .history(let id): return prefix + "history \(id)"
    case .feedback(let id, let verdict): return prefix + "feedback \(verdict.word) \(id)"
    case .reset(let id): return prefix + "reset \(id)"
    case .reload: return prefix + "reload"
    case .metrics: return prefix + "metrics"
    case .ping: return prefix + "ping"
    case .export(let id): return prefix + "export \(id)"
    case .importState(let record): return prefix + "import \(record)"
    }
  }

  public static func parse(_ rawLine: String) throws(ControlError) -> ControlRequest {
    guard rawLine.utf8.count <= maxLength else { throw ControlError("request too long") }
    var line = Substring(rawLine)
    while let last = line.last, last == "\n" || last == "\r" { line.removeLast() }
    var json = false
    if line.hasPrefix("json ") {
      json = true
      line = line.dropFirst(5)
    }
    let word: Substring
    let rest: Substring
    if let space = line.firstIndex(of: " ") {
      word = line[..<space]
      rest = line[line.index(after: space)...]
    } else {
      word = line
      rest = ""
    }
    func noArguments(_ command: ControlCommand) throws(ControlError) -> ControlCommand {
      guard rest.isEmpty else { throw ControlError("'\(word)' takes no arguments") }
      return command
    }
    func streamID() throws(ControlError) -> String {
      guard !rest.isEmpty else { throw ControlError("'\(word)' needs a stream id") }
      return String(rest)
    }
    let command: ControlCommand
    switch word {
    case "info":
      if rest.isEmpty {
        command = .info(section: nil)
      } else {
        guard ControlCommand.infoSections.contains(String(rest)) else {
          throw ControlError(
            "unknown info section '\(rest)' (known: \(ControlCommand.infoSections.joined(separator: ", ")))")
        }
        command = .info(section: String(rest))
      }
    case "streams": command = try noArguments(.streams)
    case "stream": command = .stream(id: try streamID())
    case "history": command = .history(id: try streamID())
    case "feedback":
      // The verdict first: the id is the rest of the line and may hold spaces.
      guard let space = rest.firstIndex(of: " "), let verdict = FeedbackVerdict(word: rest[..<space]) else {
        throw ControlError(
          "'feedback' needs a verdict and a stream id: feedback false-alarm[,event=N|,at=MS] ID, or feedback clear ID")
      }
      let id = rest[rest.index(after: space)...]
      guard !id.isEmpty else { throw ControlError("'feedback' needs a stream id") }
      command = .feedback(id: String(id), verdict: verdict)
    case "reset": command = .reset(id: try streamID())
    case "reload": command = try noArguments(.reload)
    case "metrics": command = try noArguments(.metrics)
    case "ping": command = try noArguments(.ping)
    case "export": command = .export(id: try streamID())
    case "import":
      guard !rest.isEmpty else { throw ControlError("'import' needs a record (from 'export')") }
      command = .importState(record: String(rest))
    case "": throw ControlError("empty request")
    default:
      throw ControlError(
        "unknown command '\(word.prefix(64))' (known: info, streams, stream, history, feedback, reset, reload, metrics, ping, export, import)"
      )
    }
    return ControlRequest(command, json: json)
  }
}

/// What an operator says about a stream's event.
public enum FeedbackVerdict: Equatable, Sendable {
  /// Which event a verdict is about.
  public enum Event: Equatable, Sendable {
    case last
    /// By its sequence number (the event's third frame).
    case sequence(UInt64)
    /// The latest event at or before this time, in ms since 1970.
    case atOrBefore(Int64)
  }

  /// The event was a false alarm: its situation is normal for this stream.
  case falseAlarm(Event)
  /// Forget every situation marked normal.
  case clear

  /// `false-alarm`, `false-alarm,event=N`, `false-alarm,at=MS` or `clear`.
  public init?(word: Substring) {
    if word == "clear" {
      self = .clear
      return
    }
    let parts = word.split(separator: ",", maxSplits: 1)
    guard parts.first == "false-alarm" else { return nil }
    guard parts.count == 2 else {
      self = .falseAlarm(.last)
      return
    }
    if parts[1].hasPrefix("event="), let n = UInt64(parts[1].dropFirst(6)) {
      self = .falseAlarm(.sequence(n))
    } else if parts[1].hasPrefix("at="), let ms = Int64(parts[1].dropFirst(3)) {
      self = .falseAlarm(.atOrBefore(ms))
    } else {
      return nil
    }
  }

  public var word: String {
    switch self {
    case .clear: "clear"
    case .falseAlarm(.last): "false-alarm"
    case .falseAlarm(.sequence(let n)): "false-alarm,event=\(n)"
    case .falseAlarm(.atOrBefore(let ms)): "false-alarm,at=\(ms)"
    }
  }
}

/// A request the daemon refused, or a failure it reports.
public struct ControlError: Error, Equatable, Sendable, CustomStringConvertible {
  public let message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// The daemon's reply: a status line (`ok` or `error: <message>`), then the body.
public struct ControlReply: Equatable, Sendable {
  public var ok: Bool
  public var body: String

  public init(ok: Bool, body: String) {
    self.ok = ok
    self.body = body
  }

  public static func failure(_ message: String) -> ControlReply {
    ControlReply(ok: false, body: message)
  }

  public var encoded: String {
    ok ? "ok\n" + body : "error: " + body + "\n"
  }

  public static func decode(_ text: String) -> ControlReply {
    if text.hasPrefix("ok\n") { return ControlReply(ok: true, body: String(text.dropFirst(3))) }
    if text.hasPrefix("error: ") {
      var message = String(text.dropFirst(7))
      while message.hasSuffix("\n") { message.removeLast() }
      return ControlReply(ok: false, body: message)
    }
    return ControlReply(ok: false, body: "malformed reply from daemon: \(text.prefix(80))")
  }
}
