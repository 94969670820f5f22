import Foundation
import ChorusEnvironment
import Logging
import Tensor

/// Everything chorusd can be told, from flags and the config file (flags win), with defaults for the rest.
public struct Settings: Sendable, Equatable {
  public var socketPath: String
  /// Permission bits of the socket file; 0660 lets the daemon's group connect.
  public var socketMode: UInt16
  public var dataDirectory: String
  /// Space name → model directory.
  public var models: [String: String]
  /// Space name → what its models' linear layers compute in; absent: fp32.
  public var precisions: [String: Precision] = [:]
  public var logLevel: Logger.Level
  /// Largest request message accepted; larger ones get RESOURCE_EXHAUSTED.
  public var maxRequestBytes: Int
  /// How long in-flight calls may run after SIGTERM before they are cancelled.
  public var shutdownGraceSeconds: Double
  /// Serve the `starter` space (all-MiniLM-L6-v2 fetched by scripts/setup) unless a model named starter is given.
  public var starter: Bool
  /// The starter's model directory; nil means the standard places (see `StarterModel`).
  public var starterModel: String?
  public var maxBatchSize: Int
  public var maxBatchWaitMicroseconds: Int
  public var maxTextBytes: Int
  /// Images with more pixels are refused from their header (RESOURCE_EXHAUSTED), before decoding.
  public var maxImagePixels: Int
  /// Turn JPEGs upright by their EXIF orientation before embedding them.
  public var exifOrientation: Bool
  /// Largest server-side file (`Input.file`) the daemon reads.
  public var maxFileBytes: Int
  /// Bounds of the vector cache's in-memory tier and of its file in the data dir.
  public var cacheMemoryBytes: Int
  public var cacheDiskBytes: Int
  /// Collections of at least this many items get HNSW graphs (built in the background); smaller ones are searched
  /// exactly.
  public var hnswThreshold: Int
  /// Candidates an HNSW search keeps (higher: better recall, slower).
  public var hnswEfSearch: Int
  /// Longer audio clips are refused (RESOURCE_EXHAUSTED).
  public var maxAudioSeconds: Double
  /// Overlap of consecutive windows of audio longer than the model's window.
  public var audioWindowOverlapSeconds: Double
  /// Most inputs one encoder's queue holds; nil: eight batches (`EngineConfiguration.defaultQueuedInputs`).
  public var maxQueuedInputs: Int?
  /// When set, only callers of these uids (or of `allowedGIDs`) may call; nil: anyone the socket's mode admits.
  public var allowedUIDs: [UInt32]?
  public var allowedGIDs: [UInt32]?
  /// Directories under which the daemon reads server-side files for callers; empty: file inputs are off.
  public var fileRoots: [String]
  /// Serve the HTTP API (OpenAI-compatible embeddings, JSON, metrics, the page) beside gRPC.
  public var http: Bool
  /// Its Unix socket; nil: `http.sock` in the gRPC socket's directory.
  public var httpSocketPath: String?
  /// Also on TCP, "HOST:PORT"; a non-loopback host needs `httpAPIKeyFile`.
  public var httpAddress: String?
  /// A file holding the key TCP callers must send as `Authorization: Bearer KEY`.
  public var httpAPIKeyFile: String?
  /// A connection that has not sent a whole request head this long after connecting (or after its last answer)
  /// is closed.
  public var httpHeaderTimeoutSeconds: Double
  /// Where collections and the cache's persistent tier live: nil for the data dir (SQLite + hnswlib), or a
  /// `postgresql://` URL for a PostgreSQL with pgvector that several daemons share.
  public var store: String? = nil
  /// A file holding the PostgreSQL password (else PGPASSWORD, else ~/.pgpass).
  public var storePasswordFile: String? = nil

  /// The HTTP socket's path: as set, or beside the gRPC socket.
  public var resolvedHTTPSocketPath: String {
    httpSocketPath ?? ((socketPath as NSString).deletingLastPathComponent as NSString).appendingPathComponent("http.sock")
  }

  public static let defaultSocketMode: UInt16 = 0o660
  public static let defaultMaxRequestBytes = 64 << 20
  public static let defaultShutdownGraceSeconds = 10.0
  public static let defaultMaxBatchSize = 32
  public static let defaultMaxBatchWaitMicroseconds = 0
  public static let defaultMaxTextBytes = 65536
  public static let defaultMaxImagePixels = 50_000_000
  public static let defaultMaxFileBytes = 256 << 20
  public static let defaultCacheMemoryBytes = 256 << 20
  public static let defaultCacheDiskBytes = 4 << 30
  public static let defaultHNSWThreshold = 20_000
  public static let defaultHNSWEfSearch = 64
  public static let defaultMaxAudioSeconds = 7200.0
  public static let defaultAudioWindowOverlapSeconds = 5.0
  public static let defaultHTTPHeaderTimeoutSeconds = 30.0
}

/// Settings as one source gives them: nil means "not said here".
public struct PartialSettings: Sendable, Equatable {
  public var socketPath: String?
  public var socketMode: UInt16?
  public var dataDirectory: String?
  public var models: [String: String] = [:]
  public var precisions: [String: Precision] = [:]
  public var logLevel: Logger.Level?
  public var maxRequestBytes: Int?
  public var shutdownGraceSeconds: Double?
  public var starter: Bool?
  public var starterModel: String?
  public var maxBatchSize: Int?
  public var maxBatchWaitMicroseconds: Int?
  public var maxTextBytes: Int?
  public var maxImagePixels: Int?
  public var exifOrientation: Bool?
  public var maxFileBytes: Int?
  public var cacheMemoryBytes: Int?
  public var cacheDiskBytes: Int?
  public var hnswThreshold: Int?
  public var hnswEfSearch: Int?
  public var maxAudioSeconds: Double?
  public var audioWindowOverlapSeconds: Double?
  public var maxQueuedInputs: Int?
  public var allowedUIDs: [UInt32]?
  public var allowedGIDs: [UInt32]?
  public var fileRoots: [String]?
  public var http: Bool?
  public var httpSocketPath: String?
  public var httpAddress: String?
  public var httpAPIKeyFile: String?
  public var httpHeaderTimeoutSeconds: Double?
  public var store: String?
  public var storePasswordFile: String?

  public init() {}

  /// Layers `flags` over `self` (a config file) over the defaults.
  public func overridden(by flags: PartialSettings, environment: [String: String]) -> Settings {
    Settings(
      socketPath: flags.socketPath ?? socketPath ?? DefaultPaths.socket(environment: environment),
      socketMode: flags.socketMode ?? socketMode ?? Settings.defaultSocketMode,
      dataDirectory: flags.dataDirectory ?? dataDirectory ?? DefaultPaths.dataDirectory(environment: environment),
      models: models.merging(flags.models) { _, flag in flag },
      precisions: precisions.merging(flags.precisions) { _, flag in flag },
      logLevel: flags.logLevel ?? logLevel ?? .info,
      maxRequestBytes: flags.maxRequestBytes ?? maxRequestBytes ?? Settings.defaultMaxRequestBytes,
      shutdownGraceSeconds: flags.shutdownGraceSeconds ?? shutdownGraceSeconds ?? Settings.defaultShutdownGraceSeconds,
      starter: flags.starter ?? starter ?? true,
      starterModel: flags.starterModel ?? starterModel,
      maxBatchSize: flags.maxBatchSize ?? maxBatchSize ?? Settings.defaultMaxBatchSize,
      maxBatchWaitMicroseconds: flags.maxBatchWaitMicroseconds ?? maxBatchWaitMicroseconds ?? Settings.defaultMaxBatchWaitMicroseconds,
      maxTextBytes: flags.maxTextBytes ?? maxTextBytes ?? Settings.defaultMaxTextBytes,
      maxImagePixels: flags.maxImagePixels ?? maxImagePixels ?? Settings.defaultMaxImagePixels,
      exifOrientation: flags.exifOrientation ?? exifOrientation ?? true,
      maxFileBytes: flags.maxFileBytes ?? maxFileBytes ?? Settings.defaultMaxFileBytes,
      cacheMemoryBytes: flags.cacheMemoryBytes ?? cacheMemoryBytes ?? Settings.defaultCacheMemoryBytes,
      cacheDiskBytes: flags.cacheDiskBytes ?? cacheDiskBytes ?? Settings.defaultCacheDiskBytes,
      hnswThreshold: flags.hnswThreshold ?? hnswThreshold ?? Settings.defaultHNSWThreshold,
      hnswEfSearch: flags.hnswEfSearch ?? hnswEfSearch ?? Settings.defaultHNSWEfSearch,
      maxAudioSeconds: flags.maxAudioSeconds ?? maxAudioSeconds ?? Settings.defaultMaxAudioSeconds,
      audioWindowOverlapSeconds: flags.audioWindowOverlapSeconds ?? audioWindowOverlapSeconds ?? Settings.defaultAudioWindowOverlapSeconds,
      maxQueuedInputs: flags.maxQueuedInputs ?? maxQueuedInputs,
      allowedUIDs: flags.allowedUIDs ?? allowedUIDs,
      allowedGIDs: flags.allowedGIDs ?? allowedGIDs,
      fileRoots: flags.fileRoots ?? fileRoots ?? [],
      http: flags.http ?? http ?? true,
      httpSocketPath: flags.httpSocketPath ?? httpSocketPath,
      httpAddress: flags.httpAddress ?? httpAddress,
      httpAPIKeyFile: flags.httpAPIKeyFile ?? httpAPIKeyFile,
      httpHeaderTimeoutSeconds: flags.httpHeaderTimeoutSeconds ?? httpHeaderTimeoutSeconds ?? Settings.defaultHTTPHeaderTimeoutSeconds,
      store: flags.store ?? store,
      storePasswordFile: flags.storePasswordFile ?? storePasswordFile
    )
  }
}

/// Parsers shared by flags and the config file, so both accept exactly the same spellings.
enum SettingValue {
  /// "0660", "660" or "0o660" → 0o660.
  static func socketMode(_ text: String) -> UInt16? {
    var digits = Substring(text)
    if digits.hasPrefix("0o") { digits = digits.dropFirst(2) }
    guard !digits.isEmpty, digits.count <= 4, let mode = UInt16(digits, radix: 8), mode <= 0o777 else { return nil }
    return mode
  }

  static func logLevel(_ text: String) -> Logger.Level? {
    Logger.Level(rawValue: text.lowercased())
  }

  /// "NAME=DIR" with a name of letters, digits, '-', '_' and '.'.
  static func model(_ text: String) -> (name: String, directory: String)? {
    guard let equals = text.firstIndex(of: "=") else { return nil }
    let name = String(text[..<equals])
    let directory = String(text[text.index(after: equals)...])
    guard isSpaceName(name), !directory.isEmpty else { return nil }
    return (name, directory)
  }

  /// "fp32", "bf16" or "int8", in any case.
  static func precision(_ text: String) -> Precision? {
    Precision(rawValue: text.lowercased())
  }

  /// "NAME=int8" for a space name.
  static func spacePrecision(_ text: String) -> (name: String, precision: Precision)? {
    guard let equals = text.firstIndex(of: "=") else { return nil }
    let name = String(text[..<equals])
    guard isSpaceName(name), let precision = precision(String(text[text.index(after: equals)...])) else { return nil }
    return (name, precision)
  }

  static let precisionChoices = Precision.allCases.map(\.rawValue).joined(separator: ", ")

  /// "0,1000" → [0, 1000]: ids separated by commas (spaces allowed).
  static func ids(_ text: String) -> [UInt32]? {
    let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    guard !parts.isEmpty else { return nil }
    let ids = parts.compactMap { UInt32($0) }
    return ids.count == parts.count ? ids : nil
  }

  /// "HOST:PORT" or "[V6]:PORT" → (host, port).
  static func hostPort(_ text: String) -> (host: String, port: Int)? {
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
    var host = String(text[..<colon])
    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    guard !host.isEmpty else { return nil }
    return (host, port)
  }

  static func isSpaceName(_ name: String) -> Bool {
    !name.isEmpty && name.count <= 64
      && name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || $0.properties.numericType != nil || "-_.".unicodeScalars.contains($0)) }
  }
}
