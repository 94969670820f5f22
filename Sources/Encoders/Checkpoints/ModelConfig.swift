import Foundation

/// A model directory's config.json, read field by field with errors that name the file and the key.
public struct ModelConfig {
  public let url: URL
  public let values: [String: Any]

  public init(directory: URL, file: String = "config.json") throws {
    url = directory.appendingPathComponent(file)
    guard let data = FileManager.default.contents(atPath: url.path) else {
      throw CheckpointError("\(url.path): missing or unreadable")
    }
    guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
      throw CheckpointError("\(url.path): not a JSON object")
    }
    values = object
  }

  init(url: URL, values: [String: Any]) {
    self.url = url
    self.values = values
  }

  /// A nested object, e.g. CLIP's "text_config".
  public func section(_ key: String) throws -> ModelConfig {
    guard let nested = values[key] as? [String: Any] else { throw CheckpointError("\(url.path): '\(key)' is missing or not an object") }
    return ModelConfig(url: url, values: nested)
  }

  public func int(_ key: String, default fallback: Int? = nil) throws -> Int {
    if let number = values[key] as? NSNumber { return number.intValue }
    if let fallback, values[key] == nil || values[key] is NSNull { return fallback }
    throw CheckpointError("\(url.path): '\(key)' is missing or not a number")
  }

  public func float(_ key: String, default fallback: Float? = nil) throws -> Float {
    if let number = values[key] as? NSNumber { return number.floatValue }
    if let fallback, values[key] == nil || values[key] is NSNull { return fallback }
    throw CheckpointError("\(url.path): '\(key)' is missing or not a number")
  }

  public func string(_ key: String, default fallback: String? = nil) throws -> String {
    if let value = values[key] as? String { return value }
    if let fallback, values[key] == nil || values[key] is NSNull { return fallback }
    throw CheckpointError("\(url.path): '\(key)' is missing or not a string")
  }

  public func bool(_ key: String, default fallback: Bool? = nil) throws -> Bool {
    if let value = values[key] as? Bool { return value }
    if let fallback, values[key] == nil || values[key] is NSNull { return fallback }
    throw CheckpointError("\(url.path): '\(key)' is missing or not true/false")
  }

  /// A list of integers; a single number counts as that number for every entry (Swin's "patch_stride": 4 or [4, 4]).
  public func ints(_ key: String, default fallback: [Int]) throws -> [Int] {
    if let list = values[key] as? [NSNumber] { return list.map(\.intValue) }
    if let number = values[key] as? NSNumber { return Array(repeating: number.intValue, count: max(fallback.count, 1)) }
    if values[key] == nil || values[key] is NSNull { return fallback }
    throw CheckpointError("\(url.path): '\(key)' is not a number or a list of numbers")
  }

  /// Whether the key is present (and not null).
  public func has(_ key: String) -> Bool { values[key] != nil && !(values[key] is NSNull) }
}
