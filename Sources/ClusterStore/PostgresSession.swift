import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// One PostgreSQL connection, used by one thread, blocking.
///
/// The daemon's services are plain threads that own their resources (a socket, a database
/// connection), so each query here waits for its result, for at most `timeout`: a server that
/// stops answering (a network partition) must not hold a thread past its lease. A failed or
/// timed-out query closes the connection; the next call connects again.
public final class PostgresSession {
  public let url: PostgresURL
  private let configuration: PostgresConnection.Configuration
  private let logger: Logger
  private let timeout: TimeAmount
  private let eventLoop: any EventLoop
  private var connection: PostgresConnection?
  private static let connectionIDs = Atomic<Int>(1)

  public init(url: PostgresURL, timeoutSeconds: Double, logger: Logger) {
    self.url = url
    var configuration: PostgresConnection.Configuration
    switch url.address {
    case .tcp(let host, let port):
      configuration = .init(
        host: host, port: port, username: url.user, password: url.password, database: url.database, tls: .disable)
    case .unixSocket(let path):
      configuration = .init(unixSocketPath: path, username: url.user, password: url.password, database: url.database)
    }
    timeout = .milliseconds(Int64(max(timeoutSeconds, 0.05) * 1000))
    configuration.options.connectTimeout = timeout
    self.configuration = configuration
    self.logger = logger
    eventLoop = MultiThreadedEventLoopGroup.singleton.next()
  }

  deinit { close() }

  /// Closes the connection (the next query opens a new one).
  public func close() {
    guard let connection else { return }
    self.connection = nil
    let closing: EventLoopFuture<Void> = connection.close()
    try? closing.wait()
  }

  /// Runs one statement and returns its rows.
  @discardableResult
  public func rows(_ query: PostgresQuery) throws(ClusterStoreError) -> [PostgresRow] {
    let connection = try connected()
    return try wait(connection.query(query, logger: logger), on: connection, doing: query.sql).rows
  }

  /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
  public func transaction<T>(_ body: () throws(ClusterStoreError) -> T) throws(ClusterStoreError) -> T {
    try rows("BEGIN")
    do {
      let result = try body()
      try rows("COMMIT")
      return result
    } catch {
      if connection != nil { _ = try? rows("ROLLBACK") }
      throw error
    }
  }

  private func connected() throws(ClusterStoreError) -> PostgresConnection {
    if let connection, !connection.isClosed { return connection }
    connection = nil
    let id = Self.connectionIDs.add(1, ordering: .relaxed).oldValue
    let future = PostgresConnection.connect(on: eventLoop, configuration: configuration, id: id, logger: logger)
    do {
      let opened = try future.wait()
      connection = opened
      return opened
    } catch {
      throw ClusterStoreError("cannot connect to \(url): \(Self.describe(error))")
    }
  }

  /// Waits for `future`; closes the connection (failing the query) when `timeout` passes first.
  private func wait<T: Sendable>(_ future: EventLoopFuture<T>, on connection: PostgresConnection, doing sql: String)
    throws(ClusterStoreError) -> T
  {
    let timer = eventLoop.scheduleTask(in: timeout) { connection.close() as Void }
    defer { timer.cancel() }
    do {
      return try future.wait()
    } catch {
      self.connection = nil
      connection.close() as Void
      throw ClusterStoreError("\(sql.prefix(48)): \(Self.describe(error))")
    }
  }

  /// PSQLError's `description` hides the server's message on purpose; the daemon's log needs it.
  static func describe(_ error: any Error) -> String {
    if let error = error as? PSQLError {
      if let message = error.serverInfo?[.message] { return message }
      return "\(error.code)"
    }
    return "\(error)"
  }
}

/// A failed cluster-store operation, with the server's message.
public struct ClusterStoreError: Error, CustomStringConvertible, Sendable {
  public let description: String
  public init(_ description: String) { self.description = description }
}
