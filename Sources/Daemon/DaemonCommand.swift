import ArgumentParser
import ChorusEnvironment
import Foundation
import Logging

/// `chorusd`: flags, config file and logging set-up; the work is done by `Daemon`.
public struct DaemonCommand: ParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "chorusd",
    abstract: "Chorus: multimodal embeddings and cross-modal search over gRPC on a Unix socket.",
    discussion: """
      Settings come from flags, then the TOML file given by --config (or $CHORUSD_CONFIG), then defaults. \
      Under systemd the socket defaults to $RUNTIME_DIRECTORY/chorus.sock and the data to $STATE_DIRECTORY; \
      otherwise to $XDG_RUNTIME_DIR/chorus/chorus.sock and ~/.local/share/chorus.
      """,
    version: ChorusVersion.version
  )

  @Option(help: "Unix socket path to listen on.")
  var socket: String?

  @Option(help: "Permission bits of the socket file, octal.")
  var socketMode: String?

  @Option(help: "Folder for the cache and collections.")
  var dataDir: String?

  @Option(help: "TOML config file with the same settings as the flags.")
  var config: String?

  @Option(name: .customLong("model"), help: ArgumentHelp("Serve a space NAME from model directory DIR (repeatable).", valueName: "NAME=DIR"))
  var models: [String] = []

  @Option(
    name: .customLong("precision"),
    help: ArgumentHelp("Compute space NAME's linear layers in fp32 (default), bf16 or int8 (repeatable; Models/README.md has each one's fidelity).", valueName: "NAME=PRECISION"))
  var precisions: [String] = []

  @Option(help: "trace, debug, info, notice, warning, error or critical.")
  var logLevel: String?

  @Option(help: "Largest request message accepted, in bytes.")
  var maxRequestBytes: Int?

  @Option(help: "Seconds in-flight calls may run after SIGTERM.")
  var shutdownGrace: Double?

  @Flag(help: "Do not serve the starter space.")
  var noStarter = false

  @Option(help: "Model directory of the starter space (default: Models/all-MiniLM-L6-v2 beside the build, or the installed copy).")
  var starterModel: String?

  @Option(help: "Most inputs run in one batch.")
  var maxBatchSize: Int?

  @Option(name: .customLong("max-batch-wait-us"), help: "Microseconds the first request of a batch waits for company.")
  var maxBatchWaitMicroseconds: Int?

  @Option(help: "Longest text accepted, in UTF-8 bytes.")
  var maxTextBytes: Int?

  @Option(help: "Most pixels an image may have (checked from its header, before decoding).")
  var maxImagePixels: Int?

  @Flag(help: "Embed JPEGs as stored, ignoring their EXIF orientation.")
  var noExifOrientation = false

  @Option(help: "Largest server-side file (Input.file) the daemon reads, in bytes.")
  var maxFileBytes: Int?

  @Option(help: "Bytes of the vector cache kept in memory.")
  var cacheMemoryBytes: Int?

  @Option(help: "Bytes of the vector cache kept on disk (least recently used entries go first).")
  var cacheDiskBytes: Int?

  @Option(help: "Longest audio clip accepted, in seconds (longer ones get RESOURCE_EXHAUSTED).")
  var maxAudioSeconds: Double?

  @Option(name: .customLong("hnsw-threshold"), help: "Collections of at least this many items are searched through HNSW graphs built in the background.")
  var hnswThreshold: Int?

  @Option(help: "Most inputs one encoder's queue holds; more are refused at once (default: 8 batches).")
  var maxQueuedInputs: Int?

  @Flag(help: "Do not serve the HTTP API.")
  var noHttp = false

  @Option(help: "Unix socket of the HTTP API (default: http.sock beside the gRPC socket).")
  var httpSocket: String?

  @Option(help: ArgumentHelp("Also serve HTTP on TCP; loopback only unless --http-api-key-file is set.", valueName: "HOST:PORT"))
  var httpAddress: String?

  @Option(help: "File holding the key TCP callers must send as 'Authorization: Bearer KEY'.")
  var httpApiKeyFile: String?

  @Option(help: "Seconds a connection may take to send a request's head before it is closed.")
  var httpHeaderTimeout: Double?

  @Option(
    help: ArgumentHelp(
      "Keep collections and the vector cache in PostgreSQL with pgvector, shared by every daemon on it (default: the data dir).",
      valueName: "postgresql://USER@HOST:PORT/DB?sslmode=prefer"))
  var store: String?

  @Option(help: "File holding the PostgreSQL password (else PGPASSWORD, else ~/.pgpass).")
  var storePasswordFile: String?

  @Option(help: ArgumentHelp("Only callers of these uids (or of --allowed-gids) may call.", valueName: "UID,UID"))
  var allowedUids: String?

  @Option(help: ArgumentHelp("Only callers in these groups (or of --allowed-uids) may call.", valueName: "GID,GID"))
  var allowedGids: String?

  @Option(name: .customLong("file-root"), help: "Read server-side files for callers under this directory (repeatable; default: none, file inputs off).")
  var fileRoots: [String] = []

  public init() {}

  /// The daemon's whole life; called by chorusd's main (not `run()`, whose sync/async overloads are ambiguous).
  public func execute() async throws {
    let environment = ProcessInfo.processInfo.environment
    let flags = try flagSettings()
    var file = PartialSettings()
    if let path = config ?? environment["CHORUSD_CONFIG"] {
      do {
        file = try ConfigFile.load(path: path)
      } catch {
        Self.fail("\(error)")
      }
    }
    let settings = file.overridden(by: flags, environment: environment)

    LoggingSystem.bootstrap { label in
      StderrLogHandler(label: label, level: settings.logLevel, environment: environment)
    }
    let logger = Logger(label: "chorusd")
    do {
      try await Daemon(settings: settings, environment: environment, logger: logger).run()
    } catch {
      logger.critical("chorusd cannot start: \(error)")
      throw ExitCode(1)
    }
  }

  private func flagSettings() throws -> PartialSettings {
    var flags = PartialSettings()
    flags.socketPath = socket
    flags.dataDirectory = dataDir
    flags.maxRequestBytes = maxRequestBytes
    flags.shutdownGraceSeconds = shutdownGrace
    flags.starter = noStarter ? false : nil
    flags.starterModel = starterModel
    flags.maxBatchSize = maxBatchSize
    flags.maxBatchWaitMicroseconds = maxBatchWaitMicroseconds
    flags.maxTextBytes = maxTextBytes
    flags.maxImagePixels = maxImagePixels
    flags.exifOrientation = noExifOrientation ? false : nil
    flags.maxFileBytes = maxFileBytes
    flags.cacheMemoryBytes = cacheMemoryBytes
    flags.cacheDiskBytes = cacheDiskBytes
    flags.hnswThreshold = hnswThreshold
    flags.maxAudioSeconds = maxAudioSeconds
    flags.maxQueuedInputs = maxQueuedInputs
    flags.fileRoots = fileRoots.isEmpty ? nil : fileRoots
    flags.http = noHttp ? false : nil
    flags.httpSocketPath = httpSocket
    flags.httpAddress = httpAddress
    flags.httpAPIKeyFile = httpApiKeyFile
    flags.httpHeaderTimeoutSeconds = httpHeaderTimeout
    flags.store = store
    flags.storePasswordFile = storePasswordFile
    if let address = httpAddress, SettingValue.hostPort(address) == nil { throw ValidationError("--http-address takes HOST:PORT, such as 127.0.0.1:8080, not '\(address)'") }
    if let seconds = httpHeaderTimeout, !(seconds > 0 && seconds <= 3600) { throw ValidationError("--http-header-timeout must be above 0 and at most 3600 seconds") }
    if let queued = maxQueuedInputs, !(1...1_000_000).contains(queued) { throw ValidationError("--max-queued-inputs must be from 1 to 1000000") }
    if let root = fileRoots.first(where: { !$0.hasPrefix("/") }) { throw ValidationError("--file-root takes an absolute directory path, not '\(root)'") }
    for (flag, text) in [("--allowed-uids", allowedUids), ("--allowed-gids", allowedGids)] {
      guard let text else { continue }
      guard let ids = SettingValue.ids(text) else { throw ValidationError("\(flag) takes numeric ids separated by commas, such as 0,1000, not '\(text)'") }
      if flag == "--allowed-uids" { flags.allowedUIDs = ids } else { flags.allowedGIDs = ids }
    }
    if let seconds = maxAudioSeconds, !(seconds > 0) { throw ValidationError("--max-audio-seconds must be above 0") }
    if let threshold = hnswThreshold, threshold < 1 { throw ValidationError("--hnsw-threshold must be at least 1") }
    if let bytes = cacheMemoryBytes, bytes < 0 { throw ValidationError("--cache-memory-bytes must not be negative") }
    if let bytes = cacheDiskBytes, bytes < 0 { throw ValidationError("--cache-disk-bytes must not be negative") }
    if let size = maxBatchSize, !(1...1024).contains(size) { throw ValidationError("--max-batch-size must be from 1 to 1024") }
    if let wait = maxBatchWaitMicroseconds, !(0...1_000_000).contains(wait) { throw ValidationError("--max-batch-wait-us must be from 0 to 1000000") }
    if let bytes = maxTextBytes, !(1...(16 << 20)).contains(bytes) { throw ValidationError("--max-text-bytes must be from 1 to \(16 << 20)") }
    if let bytes = maxFileBytes, !(1...(1 << 40)).contains(bytes) { throw ValidationError("--max-file-bytes must be from 1 to \(1 << 40)") }
    if let pixels = maxImagePixels, !(1...(1 << 31)).contains(pixels) { throw ValidationError("--max-image-pixels must be from 1 to \(1 << 31)") }
    if let socketMode {
      guard let mode = SettingValue.socketMode(socketMode) else {
        throw ValidationError("--socket-mode takes octal permission bits such as 0660, not '\(socketMode)'")
      }
      flags.socketMode = mode
    }
    if let logLevel {
      guard let level = SettingValue.logLevel(logLevel) else {
        throw ValidationError("--log-level takes trace, debug, info, notice, warning, error or critical, not '\(logLevel)'")
      }
      flags.logLevel = level
    }
    for model in models {
      guard let (name, directory) = SettingValue.model(model) else {
        throw ValidationError("--model takes NAME=DIR with a name of letters, digits, '-', '_' and '.', not '\(model)'")
      }
      flags.models[name] = directory
    }
    for precision in precisions {
      guard let (name, value) = SettingValue.spacePrecision(precision) else {
        throw ValidationError("--precision takes NAME=PRECISION with a space name and one of \(SettingValue.precisionChoices), not '\(precision)'")
      }
      flags.precisions[name] = value
    }
    if let bytes = maxRequestBytes, bytes < 1024 || bytes > Int(Int32.max) {
      throw ValidationError("--max-request-bytes must be from 1024 to \(Int32.max)")
    }
    if let grace = shutdownGrace, grace < 0 || grace > 3600 {
      throw ValidationError("--shutdown-grace must be from 0 to 3600 seconds")
    }
    return flags
  }

  /// A startup error before logging exists: one line on stderr, exit 1.
  private static func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("chorusd: \(message)\n".utf8))
    Foundation.exit(1)
  }
}
