import Foundation
import NIOSSL
import PostgresNIO

/// Where the PostgreSQL store is, from `--store postgresql://user@host:port/db?sslmode=…` (libpq's URL form):
/// host, port, user, database, TLS mode and, separately, where the password comes from. A password is never taken
/// from the URL itself (it would show in `ps`, in the unit file and in logs): `store_password_file`, `PGPASSWORD`
/// or `~/.pgpass` (`PGPASSFILE`), in that order, as libpq looks for them.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
  public enum SSLMode: String, Sendable, CaseIterable {
    case disable, prefer, require
    case verifyCA = "verify-ca"
    case verifyFull = "verify-full"
  }

  /// TCP host name or address; nil for a Unix socket.
  public var host: String?
  /// The directory holding PostgreSQL's socket (`.s.PGSQL.<port>` in it), for a Unix-socket host.
  public var socketDirectory: String?
  public var port: Int
  public var user: String
  public var database: String
  public var sslMode: SSLMode
  /// A CA bundle for verify-ca / verify-full (libpq's `sslrootcert`); the system's roots otherwise.
  public var sslRootCertificate: String?

  static let knownParameters = ["sslmode", "host", "port", "user", "dbname", "sslrootcert"]

  /// Parses the URL; every mistake is named with what would be right.
  public init(url: String, defaultUser: String = ProcessInfo.processInfo.environment["USER"] ?? "postgres") throws {
    let problem = { (what: String) in StoreError.invalid("store URL '\(Self.redacted(url))': \(what)") }
    guard url.hasPrefix("postgresql://") || url.hasPrefix("postgres://") else {
      throw problem("must start with postgresql:// (postgresql://user@host:port/database?sslmode=prefer)")
    }
    guard let components = URLComponents(string: url) else { throw problem("is not a URL") }
    if components.password != nil {
      throw problem("holds a password; put it in store_password_file, PGPASSWORD or ~/.pgpass instead (a URL shows in ps and logs)")
    }
    var host = components.percentEncodedHost.flatMap { $0.removingPercentEncoding }
    var port = components.port ?? 5432
    var user = components.user ?? defaultUser
    var database = String(components.path.drop(while: { $0 == "/" }))
    var sslMode = SSLMode.prefer
    var rootCertificate: String?
    for item in components.queryItems ?? [] {
      let value = item.value ?? ""
      switch item.name {
      case "sslmode":
        guard let mode = SSLMode(rawValue: value) else {
          throw problem("sslmode '\(value)' is not one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        sslMode = mode
      case "host": host = value
      case "port":
        guard let number = Int(value), (1...65535).contains(number) else { throw problem("port '\(value)' is not a port number") }
        port = number
      case "user": user = value
      case "dbname": database = value
      case "sslrootcert": rootCertificate = value
      default: throw problem("unknown parameter '\(item.name)' (known: \(Self.knownParameters.joined(separator: ", ")))")
      }
    }
    if database.isEmpty { database = user }
    guard !user.isEmpty else { throw problem("names no user") }
    if let host, host.hasPrefix("/") {
      socketDirectory = host
      self.host = nil
    } else {
      guard let host, !host.isEmpty else {
        throw problem("names no host (postgresql://user@localhost/db, or a socket directory: postgresql://user@%2Frun%2Fpostgresql/db)")
      }
      self.host = host
      socketDirectory = nil
    }
    if socketDirectory != nil && sslMode != .disable && sslMode != .prefer {
      throw problem("sslmode=\(sslMode.rawValue) over a Unix socket: TLS does not apply there (use disable or prefer)")
    }
    self.port = port
    self.user = user
    self.database = database
    self.sslMode = sslMode
    sslRootCertificate = rootCertificate
  }

  /// The URL as logs show it.
  public var description: String {
    let place = socketDirectory.map { "\($0) (socket)" } ?? "\(host ?? ""):\(port)"
    return "postgresql://\(user)@\(place)/\(database)"
  }

  static func redacted(_ url: String) -> String {
    // user:secret@ → user:***@
    url.replacingOccurrences(of: #"(://[^/:@]*):[^@/]*@"#, with: "$1:***@", options: .regularExpression)
  }

  /// The password from the first source that has one: the configured file, PGPASSWORD, then the pgpass file.
  public func password(passwordFile: String?, environment: [String: String]) throws -> String? {
    if let passwordFile {
      guard let text = try? String(contentsOfFile: passwordFile, encoding: .utf8) else {
        throw StoreError.invalid("store_password_file \(passwordFile) cannot be read")
      }
      return text.trimmingCharacters(in: .newlines)
    }
    if let password = environment["PGPASSWORD"] { return password }
    let home = environment["HOME"] ?? NSHomeDirectory()
    let path = environment["PGPASSFILE"] ?? home + "/.pgpass"
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
    // libpq ignores a pgpass file others can read; so does Chorus.
    if let mode = (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int, mode & 0o077 != 0 { return nil }
    return Self.pgpassLookup(text, host: socketDirectory ?? host ?? "", isSocket: socketDirectory != nil, port: port, database: database, user: user)
  }

  /// The password of the first matching line of a pgpass file (host:port:database:user:password, `*` matches
  /// anything, `\:` and `\\` escape). For a socket, "localhost" matches too, as in libpq.
  static func pgpassLookup(_ text: String, host: String, isSocket: Bool, port: Int, database: String, user: String) -> String? {
    for line in text.split(separator: "\n", omittingEmptySubsequences: true) where !line.hasPrefix("#") {
      var fields: [String] = []
      var field = ""
      var escaped = false
      for character in line {
        if escaped {
          field.append(character)
          escaped = false
        } else if character == "\\" {
          escaped = true
        } else if character == ":" && fields.count < 4 {
          fields.append(field)
          field = ""
        } else {
          field.append(character)
        }
      }
      fields.append(field)
      guard fields.count == 5 else { continue }
      let hostMatches = fields[0] == "*" || fields[0] == host || (isSocket && fields[0] == "localhost")
      if hostMatches && (fields[1] == "*" || fields[1] == String(port)) && (fields[2] == "*" || fields[2] == database)
        && (fields[3] == "*" || fields[3] == user)
      {
        return fields[4]
      }
    }
    return nil
  }

  /// postgres-nio's pool configuration for this location.
  func clientConfiguration(password: String?) -> PostgresClient.Configuration {
    let tls = tls()
    var configuration =
      socketPath.map { PostgresClient.Configuration(unixSocketPath: $0, username: user, password: password, database: database) }
      ?? PostgresClient.Configuration(host: host ?? "", port: port, username: user, password: password, database: database, tls: tls)
    configuration.options.connectTimeout = Self.connectTimeout
    configuration.options.maximumConnections = 16
    configuration.options.additionalStartupParameters = Self.startupParameters
    return configuration
  }

  /// The same place for one plain connection (start-up asks it first: its errors are precise). postgres-nio has a
  /// configuration type of its own for that, with TLS as a ready context.
  func connectionConfiguration(password: String?) throws -> PostgresConnection.Configuration {
    var tls = PostgresConnection.Configuration.TLS.disable
    if sslMode != .disable {
      let context = try NIOSSLContext(configuration: tlsConfiguration())
      tls = sslMode == .prefer ? .prefer(context) : .require(context)
    }
    var configuration =
      socketPath.map { PostgresConnection.Configuration(unixSocketPath: $0, username: user, password: password, database: database) }
      ?? PostgresConnection.Configuration(host: host ?? "", port: port, username: user, password: password, database: database, tls: tls)
    configuration.options.connectTimeout = .seconds(Self.connectTimeout.components.seconds)
    configuration.options.additionalStartupParameters = Self.startupParameters
    return configuration
  }

  private var socketPath: String? { socketDirectory.map { $0 + "/.s.PGSQL.\(port)" } }
  private static let connectTimeout: Duration = .seconds(3)
  private static let startupParameters = [("application_name", "chorusd")]

  private func tlsConfiguration() -> TLSConfiguration {
    var tls = TLSConfiguration.makeClientConfiguration()
    switch sslMode {
    case .disable, .prefer, .require: tls.certificateVerification = .none
    case .verifyCA, .verifyFull:
      tls.certificateVerification = sslMode == .verifyCA ? .noHostnameVerification : .fullVerification
      if let sslRootCertificate { tls.trustRoots = .file(sslRootCertificate) }
    }
    return tls
  }

  /// prefer and require encrypt without checking who answers, as libpq does (verify-ca / verify-full check).
  private func tls() -> PostgresClient.Configuration.TLS {
    switch sslMode {
    case .disable: .disable
    case .prefer: .prefer(tlsConfiguration())
    case .require, .verifyCA, .verifyFull: .require(tlsConfiguration())
    }
  }
}
