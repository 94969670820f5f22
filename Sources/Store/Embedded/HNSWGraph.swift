import CHNSW
import Foundation

/// Tuning of the HNSW graphs (hnswlib): the defaults reach recall@10 ≥ 0.95 at a million real-text vectors
/// (BENCHMARKS.md).
public struct HNSWParameters: Sendable, Equatable {
  /// Links per node (hnswlib's M); the base layer keeps twice as many.
  public var m = 16
  /// Candidates kept while inserting.
  public var efConstruction = 100
  /// Candidates kept while searching (at least k).
  public var efSearch = 64

  public init(m: Int = 16, efConstruction: Int = 100, efSearch: Int = 64) {
    self.m = m
    self.efConstruction = efConstruction
    self.efSearch = efSearch
  }
}

struct HNSWFailure: Error, CustomStringConvertible {
  var description: String
}

/// One immutable hnswlib graph over unit vectors; label i is the i-th vector it was built from.
/// Searches may run on many threads at once; nothing changes the graph after it is built or loaded.
final class HNSWGraph: @unchecked Sendable {
  private let handle: OpaquePointer
  let dimension: Int

  private init(handle: OpaquePointer, dimension: Int) {
    self.handle = handle
    self.dimension = dimension
  }

  deinit { chorus_hnsw_free(handle) }

  static func build(vectors: [Float], dimension: Int, parameters: HNSWParameters, threads: Int) throws -> HNSWGraph {
    var error = [CChar](repeating: 0, count: 256)
    let handle = vectors.withUnsafeBufferPointer { buffer in
      chorus_hnsw_build(
        buffer.baseAddress, vectors.count / dimension, dimension, parameters.m, parameters.efConstruction, parameters.efSearch, 100, Int32(threads),
        &error, error.count)
    }
    guard let handle else { throw HNSWFailure(description: "building an HNSW graph failed: \(Self.message(error))") }
    return HNSWGraph(handle: handle, dimension: dimension)
  }

  /// `extraCapacity`: room for vectors a merge will add before the graph is published.
  static func load(path: String, dimension: Int, parameters: HNSWParameters, extraCapacity: Int = 0) throws -> HNSWGraph {
    var error = [CChar](repeating: 0, count: 256)
    guard let handle = chorus_hnsw_load(path, dimension, parameters.efSearch, extraCapacity, &error, error.count) else {
      throw HNSWFailure(description: "\(path): \(Self.message(error))")
    }
    return HNSWGraph(handle: handle, dimension: dimension)
  }

  /// Adds vectors labelled firstLabel, firstLabel + 1, …. Only while no one else can see the graph.
  func add(vectors: [Float], firstLabel: Int, threads: Int) throws {
    var error = [CChar](repeating: 0, count: 256)
    let status = vectors.withUnsafeBufferPointer { buffer in
      chorus_hnsw_add(handle, buffer.baseAddress, vectors.count / dimension, firstLabel, Int32(threads), &error, error.count)
    }
    guard status == 0 else { throw HNSWFailure(description: "extending an HNSW graph failed: \(Self.message(error))") }
  }

  /// The label keeps routing searches but is never returned. Only while no one else can see the graph.
  func markDeleted(_ label: Int) {
    chorus_hnsw_mark_deleted(handle, UInt32(label))
  }

  func save(path: String) throws {
    var error = [CChar](repeating: 0, count: 256)
    guard chorus_hnsw_save(handle, path, &error, error.count) == 0 else { throw HNSWFailure(description: "\(path): \(Self.message(error))") }
  }

  var count: Int { chorus_hnsw_count(handle) }

  private static func message(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// The k nearest labels to a unit query, best first, with cosine similarity (1 − hnswlib's distance).
  func search(_ query: [Float], k: Int) -> [(label: Int, score: Float)] {
    guard k > 0 else { return [] }
    var labels = [UInt32](repeating: 0, count: k)
    var distances = [Float](repeating: 0, count: k)
    let found = chorus_hnsw_search(handle, query, k, &labels, &distances)
    return (0..<found).map { (Int(labels[$0]), 1 - distances[$0]) }
  }

  /// Calls `body` with the stored vector of a label (nil when the graph has no such label).
  func withVector<T>(_ label: Int, _ body: (UnsafeBufferPointer<Float>?) -> T) -> T {
    withUnsafeTemporaryAllocation(of: Float.self, capacity: dimension) { buffer in
      chorus_hnsw_vector(handle, UInt32(label), buffer.baseAddress) == 0 ? body(UnsafeBufferPointer(buffer)) : body(nil)
    }
  }
}
