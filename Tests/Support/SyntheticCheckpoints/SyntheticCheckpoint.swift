import CSyntheticWeights
import Foundation

/// A full-size model directory for parity and engine tests: the committed fixture files plus a model.safetensors
/// written from the fixture's weights.manifest.json (Fixtures/synthetic_weights.py computes the same values bit for
/// bit). Kept under .build/synthetic-checkpoints/ so a second run reuses it.
public enum SyntheticCheckpoint {
  public static let cache = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
    .appendingPathComponent(".build/synthetic-checkpoints")

  public static func directory(for fixture: URL) throws -> URL {
    let manifestData = try Data(contentsOf: fixture.appendingPathComponent("weights.manifest.json"))
    var digest: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in manifestData { digest = (digest ^ UInt64(byte)) &* 0x100_0000_01B3 }
    let target = cache.appendingPathComponent("\(fixture.lastPathComponent)-\(String(digest, radix: 16))")
    let weights = target.appendingPathComponent("model.safetensors")
    // Fixture files are copied afresh every time (cheap); the weights only once.
    try? FileManager.default.removeItem(at: target.appendingPathComponent("files"))
    try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
    for name in try FileManager.default.contentsOfDirectory(atPath: fixture.path) where name != "weights.manifest.json" {
      let destination = target.appendingPathComponent(name)
      try? FileManager.default.removeItem(at: destination)
      try FileManager.default.copyItem(at: fixture.appendingPathComponent(name), to: destination)
    }
    if !FileManager.default.fileExists(atPath: weights.path) {
      try write(manifest: manifestData, to: weights)
    }
    return target
  }

  struct Entry: Decodable {
    var name: String
    var shape: [Int]
    var base: String
    var center: Double
    var scale: Double
  }

  static func write(manifest: Data, to url: URL) throws {
    let entries = try JSONDecoder().decode([Entry].self, from: manifest)
    var header: [String: Any] = [:]
    var offset = 0
    for entry in entries {
      let bytes = entry.shape.reduce(1, *) * 4
      header[entry.name] = ["dtype": "F32", "shape": entry.shape, "data_offsets": [offset, offset + bytes]]
      offset += bytes
    }
    var headerData = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
    while headerData.count % 8 != 0 { headerData.append(0x20) }
    let partial = url.appendingPathExtension("partial")
    FileManager.default.createFile(atPath: partial.path, contents: nil)
    let handle = try FileHandle(forWritingTo: partial)
    var length = UInt64(headerData.count).littleEndian
    try handle.write(contentsOf: Data(bytes: &length, count: 8))
    try handle.write(contentsOf: headerData)
    for entry in entries {
      let count = entry.shape.reduce(1, *)
      var values = [Float](repeating: 0, count: count)
      values.withUnsafeMutableBufferPointer { chorus_synthetic_fill($0.baseAddress!, UInt64(count), UInt64(entry.base)!, entry.center, entry.scale) }
      try values.withUnsafeBytes { try handle.write(contentsOf: Data($0)) }
    }
    try handle.close()
    try FileManager.default.moveItem(at: partial, to: url)
  }
}
