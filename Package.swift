// swift-tools-version: 6.1
import PackageDescription

/// Release settings of the numeric model. The model's state lives in one raw allocation owned
/// by one thread; dynamic exclusivity checks on it measured 9% of all instructions (callgrind).
/// `ANOMALYD_TARGET_CPU=znver3 swift build -c release` (or haswell, …) builds the model for that
/// CPU's vector units (AVX2/FMA); the binary then needs such a CPU, so it is opt-in.
var modelSettings: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
if let cpu = Context.environment["ANOMALYD_TARGET_CPU"], !cpu.isEmpty {
  modelSettings.append(.unsafeFlags(["-target-cpu", cpu], .when(configuration: .release)))
}

let package = Package(
  name: "anomalyd",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "anomalyd", targets: ["anomalyd"]),
    .executable(name: "anomalyctl", targets: ["anomalyctl"]),
  ],
  dependencies: [
    // Command-line parsing with generated --help for both executables.
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    // Structured logging; the daemon passes one Logger down to every service.
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    // TOML parsing for config/anomalyd.toml (toml++ underneath: a complete, tested TOML 1.0 parser).
    .package(url: "https://github.com/LebJe/TOMLKit", exact: "0.6.0"),
    // The HTTP server of the Prometheus scrape endpoint (server.metrics_listen).
    .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    // The PostgreSQL client of cluster mode (cluster.postgres_url): shared state and leases.
    .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
  ],
  targets: [
    // The system libzmq (Debian: libzmq3-dev). Not through pkg-config: libzmq.pc brings krb5
    // include flags that SwiftPM refuses with a warning; zmq.h is in /usr/include and the
    // module map links zmq.
    .systemLibrary(name: "CZeroMQ"),
    // A thin Swift binding over libzmq: sockets owned by one thread, errors carrying errno.
    .target(name: "ZeroMQ", dependencies: ["CZeroMQ"]),
    // The system SQLite (Debian: libsqlite3-dev), for checkpoints of learned state.
    .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
    // Checkpoints of learned per-stream state in one SQLite database.
    .target(name: "StateStore", dependencies: ["CSQLite"]),
    // Cluster mode: checkpoints, membership and partition leases in one PostgreSQL database.
    .target(
      name: "ClusterStore",
      dependencies: [
        "StateStore",
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
      ]
    ),
    // The numeric model and per-stream detection pipeline. No I/O, no Foundation.
    .target(name: "AnomalyModel", swiftSettings: modelSettings),
    // Decoders for incoming samples and the encoder for score events. Pure functions, fuzzable.
    .target(name: "Wire"),
    // The control socket's request grammar and reply rendering, shared by daemon and client.
    .target(name: "ControlProtocol", dependencies: ["Wire"]),
    // Configuration: defaults, the TOML file, validation with messages naming key and value.
    .target(
      name: "DaemonConfig",
      dependencies: ["AnomalyModel", .product(name: "TOMLKit", package: "TOMLKit")]
    ),
    // The daemon's services: ingest, workers, publisher, control server, systemd notifier.
    .target(
      name: "AnomalyDaemon",
      dependencies: [
        "AnomalyModel", "Wire", "ZeroMQ", "ControlProtocol", "DaemonConfig", "StateStore", "ClusterStore",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
      ]
    ),
    .executableTarget(
      name: "anomalyd",
      dependencies: [
        "AnomalyDaemon", "DaemonConfig",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
      ]
    ),
    .executableTarget(
      name: "anomalyctl",
      dependencies: [
        "AnomalyModel", "Wire", "ZeroMQ", "ControlProtocol", "DaemonConfig",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    // Full-speed synthetic publisher for the throughput benchmarks (tools/loadtest.sh).
    .executableTarget(
      name: "anomalyd-loadgen",
      dependencies: ["Wire", "ZeroMQ", .product(name: "ArgumentParser", package: "swift-argument-parser")]
    ),
    // Release-mode benchmark of the detector step (docs/performance.md).
    .executableTarget(name: "anomalyd-bench", dependencies: ["AnomalyModel"]),
    // Helpers shared by the test targets.
    .target(name: "TestSupport", path: "Tests/TestSupport"),
    .testTarget(name: "AnomalyModelTests", dependencies: ["AnomalyModel", "TestSupport"]),
    .testTarget(name: "WireTests", dependencies: ["Wire", "TestSupport"]),
    .testTarget(name: "StateStoreTests", dependencies: ["StateStore"]),
    .testTarget(
      name: "ClusterStoreTests",
      dependencies: ["ClusterStore", "StateStore", .product(name: "Logging", package: "swift-log")]
    ),
    .testTarget(name: "ControlProtocolTests", dependencies: ["ControlProtocol", "TestSupport"]),
    .testTarget(name: "DaemonConfigTests", dependencies: ["DaemonConfig", "AnomalyModel", "TestSupport"]),
  ]
)

// Every target: Swift 6 language mode, so strict concurrency checking is on everywhere.
for target in package.targets where target.type != .system {
  var settings = target.swiftSettings ?? []
  settings.append(.swiftLanguageMode(.v6))
  target.swiftSettings = settings
}

// `ANOMALYD_FUZZ=1`: adds the config parser's fuzz target, built by tools/fuzz/run.sh config
// with -sanitize=fuzzer,address (it links only with the fuzzer runtime, hence not by default).
if Context.environment["ANOMALYD_FUZZ"] == "1" {
  package.targets += [
    .target(name: "CFuzzDriver"),
    .executableTarget(name: "FuzzConfig", dependencies: ["CFuzzDriver", "DaemonConfig"]),
  ]
  package.products += [.executable(name: "fuzz-config", targets: ["FuzzConfig"])]
}
