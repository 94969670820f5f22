import Foundation
import Hashing

/// A collection's HNSW segments on disk, in `<data dir>/index/<collection as hex>/`: per segment a graph file
/// (`<name>.hnsw`, hnswlib's format) and its ids by label (`<name>.ids`, JSON), plus `manifest.json` naming the
/// live segments with their SHA-256. All of it is derived data: anything missing, torn or stale is dropped and
/// rebuilt from the store, and what a segment says is checked against the store when it is loaded.
struct SegmentFiles: Sendable {
  let directory: String
  let dimension: Int
  let parameters: HNSWParameters

  struct Manifest: Codable {
    struct Entry: Codable {
      var name: String
      var count: Int
      var graphSHA256: String
      var idsSHA256: String
    }
    var dimension: Int
    var segments: [Entry]
  }

  static func directory(root: String, collection: String) -> String {
    root + "/index/" + collection.utf8.map { String(format: "%02x", $0) }.joined()
  }

  func graphPath(_ name: String) -> String { directory + "/\(name).hnsw" }

  /// Writes a segment's files (fsync'd); returns its manifest entry.
  func save(name: String, graph: HNSWGraph, ids: [String]) throws -> Manifest.Entry {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let graphPath = directory + "/\(name).hnsw", idsPath = directory + "/\(name).ids"
    try graph.save(path: graphPath)
    try Self.writeDurably(try JSONEncoder().encode(ids), to: idsPath)
    return Manifest.Entry(name: name, count: ids.count, graphSHA256: try Self.sha256(graphPath), idsSHA256: try Self.sha256(idsPath))
  }

  /// Points the manifest at these segments (atomic rename) and deletes every other file in the directory.
  func commit(_ entries: [Manifest.Entry]) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let data = try JSONEncoder().encode(Manifest(dimension: dimension, segments: entries))
    try Self.writeDurably(data, to: directory + "/manifest.json.tmp")
    guard rename(directory + "/manifest.json.tmp", directory + "/manifest.json") == 0 else {
      throw HNSWFailure(description: "could not replace \(directory)/manifest.json: \(String(cString: strerror(errno)))")
    }
    let keep = Set(["manifest.json"] + entries.flatMap { ["\($0.name).hnsw", "\($0.name).ids"] })
    for file in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where !keep.contains(file) {
      try? FileManager.default.removeItem(atPath: directory + "/" + file)
    }
  }

  /// The segments the manifest names, each checked against its checksum; throws when anything is missing or
  /// does not match (the caller then rebuilds).
  func load() throws -> [(entry: Manifest.Entry, graph: HNSWGraph, ids: [String])] {
    let manifestPath = directory + "/manifest.json"
    guard FileManager.default.fileExists(atPath: manifestPath) else { return [] }
    let manifest = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: URL(fileURLWithPath: manifestPath)))
    guard manifest.dimension == dimension else { throw HNSWFailure(description: "the index holds dimension \(manifest.dimension)") }
    return try manifest.segments.map { entry in
      let graphPath = directory + "/\(entry.name).hnsw", idsPath = directory + "/\(entry.name).ids"
      guard try Self.sha256(graphPath) == entry.graphSHA256, try Self.sha256(idsPath) == entry.idsSHA256 else {
        throw HNSWFailure(description: "segment \(entry.name) does not match its checksum")
      }
      let ids = try JSONDecoder().decode([String].self, from: Data(contentsOf: URL(fileURLWithPath: idsPath)))
      let graph = try HNSWGraph.load(path: graphPath, dimension: dimension, parameters: parameters)
      guard ids.count == entry.count, graph.count == entry.count else { throw HNSWFailure(description: "segment \(entry.name) has the wrong size") }
      return (entry, graph, ids)
    }
  }

  func removeAll() {
    try? FileManager.default.removeItem(atPath: directory)
  }

  private static func sha256(_ path: String) throws -> String {
    guard let handle = FileHandle(forReadingAtPath: path) else { throw HNSWFailure(description: "\(path) is missing") }
    defer { try? handle.close() }
    var hasher = SHA256Hasher()
    while let chunk = try handle.read(upToCount: 1 << 22), !chunk.isEmpty { hasher.update(chunk) }
    return hasher.hexDigest()
  }

  private static func writeDurably(_ data: Data, to path: String) throws {
    guard FileManager.default.createFile(atPath: path, contents: data), let handle = FileHandle(forWritingAtPath: path) else {
      throw HNSWFailure(description: "could not write \(path)")
    }
    defer { try? handle.close() }
    try handle.synchronize()
  }
}
