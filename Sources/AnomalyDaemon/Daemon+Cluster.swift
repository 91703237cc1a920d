import ClusterStore
import ControlProtocol
import DaemonConfig
import Foundation

/// Cluster mode's start: the shared database, its checkpoint writer and the coordinator.
extension Daemon {
  /// How long one statement may take before its connection is closed: a third of the lease,
  /// so that a renewal stuck on a dead server gives up while the lease still holds.
  static func statementTimeout(leaseSeconds: Double) -> Double { max(0.5, leaseSeconds / 3) }

  /// Checks the database (creating the tables on first use) and returns the checkpoint
  /// writer's backend; nil on a single host. Throws when the server cannot be used: a
  /// member that cannot reach it would hold nothing and score nothing.
  func openCluster(_ config: DaemonConfiguration) throws -> ClusterCheckpoints? {
    guard let cluster else { return nil }
    let url = try clusterURL(config)
    let session = PostgresSession(url: url, timeoutSeconds: 30, logger: logger)
    do {
      try ClusterSchema.prepare(session, partitions: cluster.partitionCount)
    } catch {
      throw DaemonError("cluster.postgres_url \(url): \(error)")
    }
    stateFile.withLock { $0 = url.description }
    logger.notice(
      "cluster mode",
      metadata: [
        "member": "\(cluster.member)", "database": "\(url)",
        "partitions": "\(cluster.partitionCount)", "lease_time": "\(cluster.leaseSeconds)",
      ])
    return ClusterCheckpoints(
      store: SharedCheckpoints(session: session, member: cluster.member), url: url, status: cluster)
  }

  func clusterURL(_ config: DaemonConfiguration) throws -> PostgresURL {
    guard let url = PostgresURL(config.cluster.postgresURL, environment: environment) else {
      throw DaemonError(Self.clusterProblem(config) ?? "cluster.postgres_url: cannot parse")
    }
    return url
  }

  /// What is wrong with the cluster settings that the config loader cannot see (it does not
  /// know the URL grammar); nil when nothing is. `anomalyd` reports it as an invalid
  /// configuration, so systemd does not restart a member that can never start.
  public static func clusterProblem(_ config: DaemonConfiguration) -> String? {
    guard config.cluster.isEnabled, PostgresURL(config.cluster.postgresURL) == nil else { return nil }
    return "cluster.postgres_url = \"\(config.cluster.postgresURL)\": expected "
      + "postgres://user[:password]@host[:port]/database, or postgres://user@/database?host=/socket/dir"
  }

  /// Starts the coordinator's thread, with a connection of its own to the database that
  /// `openCluster` checked.
  func startCoordinator(url: PostgresURL, controlSocketPath: String) {
    guard let cluster, let ownership else { return }
    let session = PostgresSession(
      url: url, timeoutSeconds: Self.statementTimeout(leaseSeconds: cluster.leaseSeconds), logger: logger)
    nonisolated(unsafe) let coordinator = ClusterCoordinator(
      session: session, member: cluster.member, leaseSeconds: cluster.leaseSeconds, ownership: ownership,
      status: cluster, workers: workerQueues, persistence: persistence, controlPath: controlSocketPath, logger: logger)
    let stop = clusterStop
    addThread("cluster", ThreadHandle(name: "cluster") { coordinator.run { stop.isSet } })
  }
}

/// `anomalyctl cluster` (`info cluster`): the members, this member's leases and hand-overs.
extension Daemon {
  func clusterSection() -> InfoReport.Section {
    guard let cluster else {
      return .init(
        "cluster",
        [
          ("enabled", .bool(false)), ("member", .none("-")), ("database", .none("none (single host)")),
          ("partitions", .int(0)), ("lease_time_seconds", .none("-")), ("members", .list([])),
          ("partitions_held", .int(0)), ("partitions_taken", .uint(0)), ("partitions_handed_over", .uint(0)),
          ("lease_losses", .uint(0)), ("failures", .uint(0)), ("fenced_writes", .uint(0)),
          ("last_renewal_age_seconds", .none("never")), ("oldest_checkpoint_age_seconds", .none("never")),
          ("checkpoint_age_seconds", .object(keys: [], values: [])), ("last_error", .none("")),
        ])
    }
    let view = cluster.view.withLock { $0 }
    let now = ProcessInfo.processInfo.systemUptime
    let nowMs = Date().timeIntervalSince1970 * 1000
    var owned: [String: Int] = [:]
    for partition in view.partitions { if let owner = partition.owner { owned[owner, default: 0] += 1 } }
    let members = view.members.map { member -> InfoReport.Value in
      .object(
        keys: ["name", "lease_left_seconds", "partitions", "control"],
        values: [
          .text(member.name), .double((member.leaseLeft * 10).rounded() / 10), .int(Int64(owned[member.name] ?? 0)),
          .text(member.control),
        ])
    }
    let held = view.held.keys.sorted()
    func age(sinceMs ms: Int64?) -> InfoReport.Value {
      guard let ms else { return .none("never") }
      return .double(((nowMs - Double(ms)) / 100).rounded() / 10)
    }
    let ages = held.map { age(sinceMs: view.lastSavedMs[$0]) }
    let anyNever = held.contains { view.lastSavedMs[$0] == nil }
    let oldest: Int64? = anyNever ? nil : held.compactMap { view.lastSavedMs[$0] }.min()
    let renewal: InfoReport.Value = view.lastRenewal.map { .double(((now - $0) * 10).rounded() / 10) } ?? .none("never")
    return .init(
      "cluster",
      [
        ("enabled", .bool(true)),
        ("member", .text(cluster.member)),
        ("database", stateFile.withLock { $0 }.map { .text($0) } ?? .none("-")),
        ("partitions", .int(Int64(cluster.partitionCount))),
        ("lease_time_seconds", .double(cluster.leaseSeconds)),
        ("members", .list(members)),
        ("partitions_held", .int(Int64(held.count))),
        ("partitions_taken", .uint(cluster.partitionsTaken.value)),
        ("partitions_handed_over", .uint(cluster.partitionsHandedOver.value)),
        ("lease_losses", .uint(cluster.leaseLosses.value)),
        ("failures", .uint(cluster.failures.value)),
        ("fenced_writes", .uint(persistence.fenced.value)),
        ("last_renewal_age_seconds", renewal),
        ("oldest_checkpoint_age_seconds", age(sinceMs: oldest)),
        ("checkpoint_age_seconds", .object(keys: held.map(String.init), values: ages)),
        ("last_error", view.lastError.isEmpty ? .none("") : .text(view.lastError)),
      ])
  }
}
