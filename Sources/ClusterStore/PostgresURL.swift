import Foundation

/// Where the cluster's PostgreSQL server is: `postgres://user[:password]@host[:port]/database`
/// (also `postgresql://`), or `postgres://user@/database?host=/run/postgresql` for a Unix
/// socket directory. The password may instead come from `PGPASSWORD`, so that it stays out of
/// the config file.
public struct PostgresURL: Sendable, Equatable, CustomStringConvertible {
  public enum Address: Sendable, Equatable {
    case tcp(host: String, port: Int)
    /// The server's socket file, `DIRECTORY/.s.PGSQL.PORT`, as libpq names it.
    case unixSocket(path: String)
  }

  public var address: Address
  public var user: String
  public var password: String?
  public var database: String

  /// Parses the URL; nil when it is not one of the accepted forms.
  public init?(_ text: String, environment: [String: String] = [:]) {
    guard text.hasPrefix("postgres://") || text.hasPrefix("postgresql://"),
      let components = URLComponents(string: text), let user = components.user, !user.isEmpty
    else { return nil }
    let database = String(components.path.drop { $0 == "/" })
    guard !database.isEmpty, !database.contains("/") else { return nil }
    let port = components.port ?? 5432
    guard (1...65535).contains(port) else { return nil }
    let socketDirectory = components.queryItems?.first { $0.name == "host" }?.value
    if let host = components.host, !host.isEmpty {
      guard socketDirectory == nil else { return nil }
      address = .tcp(host: host, port: port)
    } else if let socketDirectory, socketDirectory.hasPrefix("/") {
      address = .unixSocket(path: "\(socketDirectory)/.s.PGSQL.\(port)")
    } else {
      return nil
    }
    self.user = user
    self.password = components.password ?? environment["PGPASSWORD"]
    self.database = database
  }

  /// The URL without its password, for logs and `anomalyctl cluster`.
  public var description: String {
    switch address {
    case .tcp(let host, let port):
      let shown = host.contains(":") ? "[\(host)]" : host
      return "postgres://\(user)@\(shown):\(port)/\(database)"
    case .unixSocket(let path): return "postgres://\(user)@/\(database) (socket \(path))"
    }
  }
}
