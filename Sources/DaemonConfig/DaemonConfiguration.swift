import AnomalyModel

/// Everything the daemon can be configured with, and its built-in defaults.
///
/// The daemon runs on these defaults with no file at all; config/anomalyd.toml documents every
/// key. Sources, lowest precedence first: defaults, the TOML file, `--set key=value` flags.
public struct DaemonConfiguration: Sendable, Equatable {
  public struct Ingest: Sendable, Equatable {
    /// Endpoints the SUB socket binds (publishers connect to these).
    public var bind = ["tcp://127.0.0.1:5556"]
    /// Endpoints the SUB socket connects to (publishers that bind).
    public var connect: [String] = []
    /// Topic prefixes the SUB socket subscribes to (ZMQ_SUBSCRIBE); "" takes every topic.
    /// libzmq forwards them to the publishers, which then send only matching topics.
    public var subscribe = [""]
    /// Messages libzmq buffers per connection before it drops (ZMQ_RCVHWM).
    public var receiveHighWaterMark = 100_000
    /// Frames larger than this are refused by libzmq (ZMQ_MAXMSGSIZE), in bytes.
    public var maxMessageBytes = 1_048_576
    /// Stream ids longer than this are rejected, in bytes.
    public var maxTopicBytes = 256
    /// Most streams tracked at once; what happens to a new one beyond it is `streamEviction`.
    public var maxStreams = 1_000_000
    /// At `maxStreams`: forget the least recently used stream to make room (`lru`), or refuse
    /// the new one (`reject`, counted as `too_many_streams`).
    public var streamEviction = StreamEviction.lru
    /// With persistence: an evicted stream's state is written to the state file (not deleted),
    /// and the stream resumes from it when its id returns.
    public var keepEvictedState = false
    /// Samples a worker's queue holds before new ones are dropped (counted).
    public var queueCapacity = 65_536
  }

  public enum StreamEviction: String, Sendable, Equatable {
    case lru, reject
  }

  public enum PublishMode: String, Sendable, Equatable {
    /// Only points where an anomaly event fires.
    case anomalies
    /// Every scored point.
    case all
  }

  public struct Publish: Sendable, Equatable {
    public var bind = ["tcp://127.0.0.1:5557"]
    public var connect: [String] = []
    public var mode = PublishMode.anomalies
    /// Messages queued per subscriber before libzmq drops for it (ZMQ_SNDHWM).
    public var sendHighWaterMark = 100_000
    /// Events waiting for the publisher thread before new ones are dropped (counted).
    public var queueCapacity = 65_536
    /// An Alertmanager (`http://host:port`) that gets one alert per episode; empty: off.
    public var alertmanagerURL = ""
    /// Seconds between re-sends of the alerts still firing (Alertmanager forgets an alert that
    /// is not re-sent, as it does with Prometheus).
    public var alertmanagerResendInterval = 60.0
    /// Episode starts and ends waiting for the Alertmanager before new ones are dropped.
    public var alertmanagerQueue = 10_000
  }

  public struct Control: Sendable, Equatable {
    /// Path of the Unix control socket; empty: the default location (see `ControlPaths`).
    public var socket = ""
    /// Permission bits of the socket file.
    public var mode: UInt32 = 0o660
    /// Group (name or number) that owns the socket file; empty: the daemon's own group.
    public var group = ""
    /// Control connections served at once; past it a new one is refused with a message.
    public var maxConnections = 256
  }

  public struct Server: Sendable, Equatable {
    /// Worker threads that run detectors; 0 means one per CPU core.
    public var workers = 0
    /// trace, debug, info, notice, warning, error or critical.
    public var logLevel = "info"
    /// If set, Prometheus metrics are written to this file (node_exporter textfile
    /// collector) every `metricsInterval` seconds.
    public var metricsTextfile = ""
    public var metricsInterval = 15.0
    /// `host:port` of an HTTP listener serving `/metrics` for a Prometheus scrape; empty: off.
    public var metricsListen = ""
    /// Streams that get per-stream gauges (the first ones by id); the rest are counted, not
    /// shown, so that a fleet of streams cannot flood Prometheus with series.
    public var metricsMaxStreams = 1000
    /// Readings each stream keeps for `anomalyctl plot` and the timestamps of an event's
    /// moments; 0: none.
    public var streamHistory = 96
    /// Where learned stream state is checkpointed. Empty: `$STATE_DIRECTORY` (systemd), else
    /// `$XDG_STATE_HOME/anomalyd`, else `~/.local/state/anomalyd`. "none" turns persistence off.
    public var stateDirectory = ""
    /// Seconds between checkpoints of the streams that changed.
    public var checkpointInterval = 60.0
    /// This instance's share of the streams when several instances split them: "i/N" keeps the
    /// streams whose stable hash falls in share i of N (0-based). "0/1": every stream.
    public var shard = Shard(index: 0, count: 1)
  }

  /// Cluster mode (docs/cluster.md): instances share streams through one PostgreSQL database
  /// that holds their leases and checkpoints. Off while `postgresURL` is empty.
  public struct Cluster: Sendable, Equatable {
    /// `postgres://user[:password]@host[:port]/database`, `?host=/dir` for a Unix socket; the
    /// password may come from `$PGPASSWORD` instead. Empty: a single host with its own SQLite
    /// file.
    public var postgresURL = ""
    /// This instance's name in the cluster; empty: the host name. Must be unique: a second
    /// process with a name in use is refused until the first one's lease lapses.
    public var member = ""
    /// Streams map to this many partitions by the stable hash of their id; partitions move
    /// between members. Every member of a database must use the same count.
    public var partitions = 1024
    /// Seconds a lease lasts without renewal. A dead member's partitions move after about this
    /// long; a member cut off from the database stops scoring within it.
    public var leaseTime = 5.0

    public var isEnabled: Bool { !postgresURL.isEmpty }
  }

  public struct Security: Sendable, Equatable {
    /// The daemon's CURVE key pair file (`anomalyctl keygen`); empty: no CURVE.
    public var curveKeyFile = ""
    /// Client public keys (Z85) allowed to connect; empty: any client that knows the server's
    /// public key.
    public var curveAllowedClients: [String] = []
    /// The key pair read from `curveKeyFile` when the configuration was loaded.
    public var curveKeys: CurveKeyPair?
  }

  /// One share of the stream-id space, for scale-out across instances.
  public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) {
      self.index = index
      self.count = count
    }

    /// Parses "i/N".
    public init?(_ text: String) {
      let parts = text.split(separator: "/")
      guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, i >= 0, i < n, n <= 65536 else {
        return nil
      }
      self.init(index: i, count: n)
    }

    public var description: String { "\(index)/\(count)" }
  }

  /// An `http://host:port[/prefix]` URL (no TLS: the Alertmanager sits next to the daemon or
  /// behind a local proxy).
  public struct HTTPEndpoint: Sendable, Equatable, CustomStringConvertible {
    public var address: ListenAddress
    /// The path before `/api/v2/…`, without a trailing slash (Alertmanager's --web.route-prefix).
    public var prefix: String

    public init?(_ text: String) {
      guard text.hasPrefix("http://") else { return nil }
      let rest = text.dropFirst("http://".count)
      let slash = rest.firstIndex(of: "/") ?? rest.endIndex
      var authority = String(rest[..<slash])
      if !authority.contains(":") || authority.hasSuffix("]") { authority += ":80" }
      guard let address = ListenAddress(authority) else { return nil }
      var prefix = String(rest[slash...])
      while prefix.hasSuffix("/") { prefix.removeLast() }
      guard !prefix.contains(where: { $0 == " " || $0 == "?" || $0 == "#" }) else { return nil }
      self.address = address
      self.prefix = prefix
    }

    public var description: String { "http://\(address)\(prefix)" }
  }

  /// A TCP address to listen on: `host:port`, `[v6]:port`; port 0 lets the kernel choose.
  public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init?(_ text: String) {
      guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
        (0...65535).contains(port)
      else { return nil }
      var host = text[..<colon]
      if host.hasPrefix("[") && host.hasSuffix("]") { host = host.dropFirst().dropLast() }
      guard !host.isEmpty, !host.contains(" ") else { return nil }
      self.host = String(host)
      self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
  }

  public var ingest = Ingest()
  public var publish = Publish()
  public var control = Control()
  public var server = Server()
  public var security = Security()
  public var cluster = Cluster()
  public var detector = DetectorConfiguration()

  public init() {}
}

/// A configuration value that cannot be used: which key, what value, and why.
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
  public let key: String
  public let value: String
  public let reason: String
  public let source: String

  public init(key: String, value: String, reason: String, source: String = "") {
    self.key = key
    self.value = value
    self.reason = reason
    self.source = source
  }

  public var description: String {
    let location = source.isEmpty ? "" : "\(source): "
    if key.isEmpty { return "\(location)\(reason)" }
    return "\(location)\(key) = \(value): \(reason)"
  }
}
