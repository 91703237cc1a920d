import AnomalyModel
import DaemonConfig
import Foundation
import XCTest

final class ConfigLoaderTests: XCTestCase {
  func testNoFileGivesTheBuiltInDefaults() throws {
    XCTAssertEqual(try ConfigLoader.load(fileContents: nil), DaemonConfiguration())
  }

  /// The shipped, commented config file must parse and must restate the defaults exactly, so
  /// that its comments cannot drift from the code.
  func testShippedConfigFileStatesTheDefaults() throws {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
      "../../config/anomalyd.toml")
    let text = try String(contentsOf: url, encoding: .utf8)
    XCTAssertEqual(try ConfigLoader.load(fileContents: text, fileName: "anomalyd.toml"), DaemonConfiguration())
  }

  func testFileAndOverrides() throws {
    let toml = """
      [ingest]
      bind = ["tcp://127.0.0.1:6000", "ipc:///tmp/x"]
      max_streams = 10
      [publish]
      mode = "all"
      [detector]
      risk = 1e-4
      warmup = 100
      [control]
      mode = "0600"
      """
    let config = try ConfigLoader.load(
      fileContents: toml, overrides: ["detector.warmup=200", "server.workers=3", "publish.mode=anomalies"])
    XCTAssertEqual(config.ingest.bind, ["tcp://127.0.0.1:6000", "ipc:///tmp/x"])
    XCTAssertEqual(config.ingest.maxStreams, 10)
    XCTAssertEqual(config.detector.risk, 1e-4)
    XCTAssertEqual(config.detector.warmup, 200)
    XCTAssertEqual(config.server.workers, 3)
    XCTAssertEqual(config.publish.mode, .anomalies)
    XCTAssertEqual(config.control.mode, 0o600)
  }

  func testClusterSection() throws {
    let config = try ConfigLoader.load(
      fileContents: "[cluster]\npostgres_url = \"postgres://anomalyd@db:5432/anomalyd\"\nmember = \"h1\"\n",
      overrides: ["cluster.partitions=256", "cluster.lease_time=3"])
    XCTAssertTrue(config.cluster.isEnabled)
    XCTAssertEqual(config.cluster.member, "h1")
    XCTAssertEqual(config.cluster.partitions, 256)
    XCTAssertEqual(config.cluster.leaseTime, 3)
    XCTAssertFalse(try ConfigLoader.load(fileContents: nil).cluster.isEnabled, "cluster mode is off by default")
  }

  func testListenAddresses() {
    let v4 = DaemonConfiguration.ListenAddress("127.0.0.1:9464")
    XCTAssertEqual(v4?.host, "127.0.0.1")
    XCTAssertEqual(v4?.port, 9464)
    let v6 = DaemonConfiguration.ListenAddress("[::1]:0")
    XCTAssertEqual(v6?.host, "::1")
    XCTAssertEqual(v6?.port, 0)
    XCTAssertEqual(v6?.description, "[::1]:0")
    for bad in ["", "host", "host:", ":80", "host:-1", "host:65536", "a b:80"] {
      XCTAssertNil(DaemonConfiguration.ListenAddress(bad), bad)
    }
    let alertmanager = DaemonConfiguration.HTTPEndpoint("http://am.local:9093/alertmanager/")
    XCTAssertEqual(alertmanager?.address.host, "am.local")
    XCTAssertEqual(alertmanager?.prefix, "/alertmanager")
    XCTAssertEqual(DaemonConfiguration.HTTPEndpoint("http://am.local")?.address.port, 80)
    XCTAssertEqual(DaemonConfiguration.HTTPEndpoint("http://[::1]:9093")?.address.host, "::1")
    for bad in ["am:9093", "https://am:9093", "http://", "http://am:9093/a?b"] {
      XCTAssertNil(DaemonConfiguration.HTTPEndpoint(bad), bad)
    }
  }

  func testErrorsNameKeyValueAndReason() {
    let cases: [(String, String)] = [
      ("[ingest]\nmax_streams = \"many\"", "ingest.max_streams = \"many\": must be an integer"),
      ("[ingest]\nmax_stream = 5", "ingest.max_stream = 5: unknown key"),
      ("[ingest]\nkeep_evicted_state = 1", "ingest.keep_evicted_state = 1: must be true or false"),
      ("[detector]\nrisk = 0.5", "detector.risk = 0.5: must be in (0, 1 - threshold_level)"),
      ("[publish]\nmode = \"some\"", "publish.mode = some: must be \"anomalies\" or \"all\""),
      ("[ingest]\nbind = [\"udp://x\"]", "endpoint = udp://x: must start with tcp://, ipc:// or inproc://"),
      ("[nonsense]\nx = 1", "nonsense = [...]: unknown section"),
      ("[server]\nworkers = -1", "server.workers = -1: must be between 0 and 256"),
      ("[detector]\nwarmup = 3", "detector.warmup = 3: must be 0 (automatic) or between 16 and 10000000"),
      ("[detector]\nreadout_memory = 5", "detector.readout_memory = 5: must be 0 (off) or between 10 and 10000000"),
      ("[detector]\nreadout_prior = 0.0", "detector.readout_prior = 0.0: must be positive, at most 1e9"),
      ("[server]\nmetrics_listen = \"9464\"", "server.metrics_listen = 9464: must be \"host:port\""),
      ("[server]\nmetrics_listen = \":9464\"", "server.metrics_listen = :9464: must be \"host:port\""),
      ("[server]\nmetrics_listen = \"localhost:70000\"", "server.metrics_listen = localhost:70000: must be"),
      ("[publish]\nalertmanager_url = \"https://am:9093\"", "publish.alertmanager_url = https://am:9093: must be"),
      ("[publish]\nalertmanager_url = \"http://:9093\"", "publish.alertmanager_url = http://:9093: must be"),
      ("[publish]\nalertmanager_resend_interval = 0.5", "publish.alertmanager_resend_interval = 0.5: must be"),
      ("[server]\nmetrics_max_streams = -1", "server.metrics_max_streams = -1: must be between 0 and 1000000"),
      ("[ingest]\nsubscribe = []", "ingest.subscribe = []: at least one topic prefix is needed"),
      ("[cluster]\npostgres_url = \"mysql://x/y\"", "cluster.postgres_url = mysql://x/y: must be postgres://"),
      ("[cluster]\npartitions = 0", "cluster.partitions = 0: must be between 1 and 65536"),
      ("[cluster]\nlease_time = 0.5", "cluster.lease_time = 0.5: must be between 1 and 600 seconds"),
      (
        "[cluster]\npostgres_url = \"postgres://a@db/x\"\n[server]\nshard = \"0/2\"",
        "server.shard = 0/2: cannot be combined with cluster mode",
      ),
      (
        "[cluster]\npostgres_url = \"postgres://a@db/x\"\n[ingest]\nkeep_evicted_state = true",
        "ingest.keep_evicted_state = true: is not supported in cluster mode",
      ),
    ]
    for (toml, expected) in cases {
      XCTAssertThrowsError(try ConfigLoader.load(fileContents: toml, fileName: "f.toml"), toml) { error in
        XCTAssertTrue("\(error)".contains(expected), "got '\(error)', expected it to contain '\(expected)'")
      }
    }
    XCTAssertThrowsError(try ConfigLoader.load(fileContents: "[ingest\nx=", fileName: "f.toml")) { error in
      XCTAssertTrue("\(error)".hasPrefix("f.toml: not valid TOML at line 1"), "\(error)")
    }
    XCTAssertThrowsError(try ConfigLoader.load(fileContents: nil, overrides: ["nodot=1"])) { error in
      XCTAssertTrue("\(error)".contains("expected section.key=value"), "\(error)")
    }
  }

  /// toml++ aborts the process on a key that starts with a non-ASCII character, or on `}` where
  /// an array expects a value; the loader must
  /// refuse such text with an error first. Non-ASCII inside strings and comments stays allowed.
  func testInputsThatWouldAbortTheParserAreErrors() throws {
    let cases: [(String, String)] = [
      ("[\u{E9}]\n", "a table header must start with a key"), ("[\u{FFFD}", "a table header must start with a key"),
      ("[.ingest]\n", "a table header must start with a key"), ("[!]", "a table header must start with a key"),
      ("[[ ,]]", "a table header must start with a key"), ("[\u{0E}", "a table header must start with a key"),
      ("x = 1\u{0E}\n", "control character"),
      ("[ingest]\n\u{E9}t\u{E9} = 1\n", "non-ASCII character"),
      ("[server]\nworkers = 1 \u{2014} 2\n", "non-ASCII character"),
      ("[publish]\nbind = [}\n", "expected a value before '}'"),
      ("[ingest]\nbind = [\"a\", # c\n }\n", "expected a value before '}'"),
    ]
    for (text, reason) in cases {
      XCTAssertThrowsError(try ConfigLoader.load(fileContents: text, fileName: "f.toml"), text) { error in
        XCTAssertTrue("\(error)".contains(reason), "\(text.debugDescription): \(error)")
      }
    }
    // Arrays of values start with '[' too, but not at the start of a line.
    XCTAssertEqual(
      try ConfigLoader.load(fileContents: "[ingest]\nbind = [ \"tcp://127.0.0.1:1\" ]\n").ingest.bind,
      ["tcp://127.0.0.1:1"])
    let fine =
      "# r\u{E9}glages \u{2014} comment\n[server]\nlog_level = \"info\" # caf\u{E9}\nmetrics_textfile = \"/tmp/m\u{E9}trics.prom\"\n"
    XCTAssertEqual(try ConfigLoader.load(fileContents: fine).server.metricsTextfile, "/tmp/m\u{E9}trics.prom")
  }
}
