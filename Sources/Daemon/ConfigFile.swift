import Foundation
import Tensor
import TOMLKit

/// A config file problem, always naming the file, and the line and key where there is one.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
  public var file: String
  public var line: Int?
  public var key: String?
  public var problem: String

  public var description: String {
    var place = "config file \(file)"
    if let line { place += ", line \(line)" }
    if let key { place += ", key '\(key)'" }
    return "\(place): \(problem)"
  }
}

/// Reads chorusd's TOML config file. Its keys are the flags' names with '_' for '-':
///
///     socket = "/run/chorus/chorus.sock"
///     socket_mode = "0660"
///     data_dir = "/var/lib/chorus"
///     log_level = "info"
///     max_request_bytes = 67108864
///     shutdown_grace_seconds = 10
///     starter = true
///     starter_model = "/usr/local/share/chorus/models/all-MiniLM-L6-v2"
///     max_batch_size = 32
///     max_batch_wait_us = 0
///     max_text_bytes = 65536
///     max_image_pixels = 50000000
///     exif_orientation = true
///     max_file_bytes = 268435456
///     cache_memory_bytes = 268435456
///     cache_disk_bytes = 4294967296
///     hnsw_threshold = 20000
///     hnsw_ef_search = 64
///     max_audio_seconds = 7200
///     audio_window_overlap_seconds = 5
///     max_queued_inputs = 256
///     allowed_uids = [0, 1000]
///     allowed_gids = [990]
///     file_roots = ["/srv/photos"]
///     http = true
///     http_socket = "/run/chorus/http.sock"
///     http_address = "127.0.0.1:8080"
///     http_api_key_file = "/etc/chorus/http.key"
///     http_header_timeout_seconds = 30
///     store = "postgresql://chorus@%2Frun%2Fpostgresql/chorus"
///     store_password_file = "/etc/chorus/store.password"
///     [models]
///     clip = "/srv/models/clip-vit-base-patch32"
///
///     [precision]
///     clip = "int8"
///
/// Unknown keys are errors: a misspelt setting silently ignored is worse than a refusal to start.
public enum ConfigFile {
  public static func load(path: String) throws(ConfigError) -> PartialSettings {
    let text: String
    do {
      text = try String(contentsOfFile: path, encoding: .utf8)
    } catch {
      throw ConfigError(file: path, problem: "cannot read it (\(StartupError.reason(error)))")
    }
    return try parse(text, path: path)
  }

  public static func parse(_ text: String, path: String) throws(ConfigError) -> PartialSettings {
    let table: TOMLTable
    do {
      table = try TOMLTable(string: text)
    } catch let error as TOMLParseError {
      throw ConfigError(file: path, line: error.source.begin.line, problem: "not valid TOML: \(error.description)")
    } catch {
      throw ConfigError(file: path, problem: "not valid TOML: \(error)")
    }
    let lines = KeyLines(text)
    func fail(_ key: String, in section: String? = nil, _ problem: String) -> ConfigError {
      let shown = section.map { "\($0).\(key)" } ?? key
      return ConfigError(file: path, line: lines.line(of: key, in: section), key: shown, problem: problem)
    }

    var settings = PartialSettings()
    for key in table.keys {
      let value = table[key]!.tomlValue
      switch key {
      case "socket":
        settings.socketPath = try require(nonEmptyString(value), fail(key, "expected a non-empty path string"))
      case "data_dir":
        settings.dataDirectory = try require(nonEmptyString(value), fail(key, "expected a non-empty path string"))
      case "socket_mode":
        let mode = value.string.flatMap(SettingValue.socketMode) ?? value.int.flatMap { $0 >= 0 && $0 <= 0o777 ? UInt16($0) : nil }
        settings.socketMode = try require(mode, fail(key, "expected an octal mode such as \"0660\" or 0o660"))
      case "log_level":
        settings.logLevel = try require(
          value.string.flatMap(SettingValue.logLevel),
          fail(key, "expected one of trace, debug, info, notice, warning, error, critical"))
      case "max_request_bytes":
        guard let bytes = value.int, bytes >= 1024, bytes <= Int(Int32.max) else {
          throw fail(key, "expected a whole number of bytes from 1024 to \(Int32.max)")
        }
        settings.maxRequestBytes = bytes
      case "shutdown_grace_seconds":
        guard let seconds = value.double ?? value.int.map(Double.init), seconds >= 0, seconds <= 3600 else {
          throw fail(key, "expected a number of seconds from 0 to 3600")
        }
        settings.shutdownGraceSeconds = seconds
      case "starter":
        settings.starter = try require(value.bool, fail(key, "expected true or false"))
      case "starter_model":
        settings.starterModel = try require(nonEmptyString(value), fail(key, "expected a model directory path string"))
      case "max_batch_size":
        settings.maxBatchSize = try require(value.int.flatMap { (1...1024).contains($0) ? $0 : nil }, fail(key, "expected a whole number from 1 to 1024"))
      case "max_batch_wait_us":
        settings.maxBatchWaitMicroseconds = try require(value.int.flatMap { (0...1_000_000).contains($0) ? $0 : nil }, fail(key, "expected microseconds from 0 to 1000000"))
      case "max_image_pixels":
        settings.maxImagePixels = try require(value.int.flatMap { (1...(1 << 31)).contains($0) ? $0 : nil }, fail(key, "expected a whole number of pixels from 1 to \(1 << 31)"))
      case "max_file_bytes":
        settings.maxFileBytes = try require(value.int.flatMap { (1...(1 << 40)).contains($0) ? $0 : nil }, fail(key, "expected a whole number of bytes from 1 to \(1 << 40)"))
      case "exif_orientation":
        settings.exifOrientation = try require(value.bool, fail(key, "expected true or false"))
      case "max_text_bytes":
        settings.maxTextBytes = try require(value.int.flatMap { (1...(16 << 20)).contains($0) ? $0 : nil }, fail(key, "expected a whole number of bytes from 1 to \(16 << 20)"))
      case "cache_memory_bytes":
        settings.cacheMemoryBytes = try require(value.int.flatMap { $0 >= 0 ? $0 : nil }, fail(key, "expected a whole number of bytes (0 turns the memory tier off)"))
      case "cache_disk_bytes":
        settings.cacheDiskBytes = try require(value.int.flatMap { $0 >= 0 ? $0 : nil }, fail(key, "expected a whole number of bytes"))
      case "hnsw_threshold":
        settings.hnswThreshold = try require(value.int.flatMap { $0 >= 1 ? $0 : nil }, fail(key, "expected a whole number of items, at least 1"))
      case "hnsw_ef_search":
        settings.hnswEfSearch = try require(value.int.flatMap { (1...100_000).contains($0) ? $0 : nil }, fail(key, "expected a whole number from 1 to 100000"))
      case "max_audio_seconds":
        settings.maxAudioSeconds = try require(
          (value.double ?? value.int.map(Double.init)).flatMap { $0 > 0 ? $0 : nil }, fail(key, "expected a number of seconds above 0"))
      case "audio_window_overlap_seconds":
        settings.audioWindowOverlapSeconds = try require(
          (value.double ?? value.int.map(Double.init)).flatMap { $0 >= 0 ? $0 : nil }, fail(key, "expected a number of seconds, 0 or more"))
      case "max_queued_inputs":
        settings.maxQueuedInputs = try require(value.int.flatMap { (1...1_000_000).contains($0) ? $0 : nil }, fail(key, "expected a whole number of inputs from 1 to 1000000"))
      case "allowed_uids", "allowed_gids":
        let ids = value.array.flatMap { array in
          let ids = array.compactMap { $0.int.flatMap { (0...Int(UInt32.max - 1)).contains($0) ? UInt32($0) : nil } }
          return ids.count == array.count ? ids : nil
        }
        let list = try require(ids, fail(key, "expected an array of numeric ids, such as [0, 1000]"))
        if key == "allowed_uids" { settings.allowedUIDs = list } else { settings.allowedGIDs = list }
      case "file_roots":
        let roots = value.array.flatMap { array in
          let paths = array.compactMap { $0.string.flatMap { $0.hasPrefix("/") ? $0 : nil } }
          return paths.count == array.count ? paths : nil
        }
        settings.fileRoots = try require(roots, fail(key, "expected an array of absolute directory paths, such as [\"/srv/photos\"]"))
      case "http":
        settings.http = try require(value.bool, fail(key, "expected true or false"))
      case "http_socket":
        settings.httpSocketPath = try require(nonEmptyString(value), fail(key, "expected a non-empty path string"))
      case "http_address":
        settings.httpAddress = try require(value.string.flatMap { SettingValue.hostPort($0) == nil ? nil : $0 }, fail(key, "expected \"HOST:PORT\", such as \"127.0.0.1:8080\""))
      case "http_api_key_file":
        settings.httpAPIKeyFile = try require(nonEmptyString(value), fail(key, "expected a non-empty path string"))
      case "store":
        settings.store = try require(nonEmptyString(value), fail(key, "expected a postgresql:// URL string"))
      case "store_password_file":
        settings.storePasswordFile = try require(nonEmptyString(value), fail(key, "expected a non-empty path string"))
      case "http_header_timeout_seconds":
        settings.httpHeaderTimeoutSeconds = try require(
          (value.double ?? value.int.map(Double.init)).flatMap { $0 > 0 && $0 <= 3600 ? $0 : nil }, fail(key, "expected a number of seconds above 0, at most 3600"))
      case "models":
        guard let models = value.table else { throw fail(key, "expected a table: [models] with name = \"directory\" lines") }
        for name in models.keys {
          guard SettingValue.isSpaceName(name) else {
            throw fail(name, in: "models", "a space name takes letters, digits, '-', '_' and '.' (at most 64)")
          }
          guard let directory = nonEmptyString(models[name]!.tomlValue) else {
            throw fail(name, in: "models", "expected a model directory path string")
          }
          settings.models[name] = directory
        }
      case "precision":
        guard let precisions = value.table else { throw fail(key, "expected a table: [precision] with name = \"int8\" lines") }
        for name in precisions.keys {
          guard SettingValue.isSpaceName(name) else {
            throw fail(name, in: "precision", "a space name takes letters, digits, '-', '_' and '.' (at most 64)")
          }
          guard let precision = nonEmptyString(precisions[name]!.tomlValue).flatMap(SettingValue.precision) else {
            throw fail(name, in: "precision", "expected one of \(SettingValue.precisionChoices)")
          }
          settings.precisions[name] = precision
        }
      default:
        throw fail(key, "unknown setting; known: socket, socket_mode, data_dir, log_level, max_request_bytes, shutdown_grace_seconds, starter, starter_model, max_batch_size, max_batch_wait_us, max_text_bytes, max_image_pixels, exif_orientation, max_file_bytes, cache_memory_bytes, cache_disk_bytes, hnsw_threshold, hnsw_ef_search, max_audio_seconds, audio_window_overlap_seconds, max_queued_inputs, allowed_uids, allowed_gids, file_roots, http, http_socket, http_address, http_api_key_file, http_header_timeout_seconds, store, store_password_file, [models], [precision]")
      }
    }
    return settings
  }

  private static func require<T>(_ value: T?, _ error: @autoclosure () -> ConfigError) throws(ConfigError) -> T {
    guard let value else { throw error() }
    return value
  }

  private static func nonEmptyString(_ value: TOMLValue) -> String? {
    guard let string = value.string, !string.isEmpty else { return nil }
    return string
  }
}

/// Finds the line a key stands on, for error messages (TOMLKit reports positions only for syntax errors).
struct KeyLines {
  private let lines: [Substring]

  init(_ text: String) {
    lines = text.split(separator: "\n", omittingEmptySubsequences: false)
  }

  /// 1-based line of `key = …` inside `[section]` (top level when nil), or of `[key]` itself.
  func line(of key: String, in section: String?) -> Int? {
    var current: String? = nil
    for (index, raw) in lines.enumerated() {
      let line = raw.trimmingCharacters(in: .whitespaces)
      if line.hasPrefix("[") {
        let name = line.trimmingCharacters(in: CharacterSet(charactersIn: "[] \t"))
        if section == nil && name == key { return index + 1 }
        current = name
        continue
      }
      guard current == section, let equals = line.firstIndex(of: "=") else { continue }
      let name = line[..<equals].trimmingCharacters(in: CharacterSet(charactersIn: " \t\"'"))
      if name == key { return index + 1 }
    }
    return nil
  }
}
