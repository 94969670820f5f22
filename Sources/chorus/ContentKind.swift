import Foundation

/// Tells a file's modality by its bytes, never by its name.
enum ContentKind {
  static func modality(of data: Data) -> String? {
    let bytes = [UInt8](data.prefix(12))
    func starts(_ prefix: [UInt8]) -> Bool { bytes.starts(with: prefix) }
    if starts([0xFF, 0xD8, 0xFF]) || starts([0x89, 0x50, 0x4E, 0x47]) || starts(Array("GIF8".utf8)) { return "image" }
    if bytes.count >= 12 && starts(Array("RIFF".utf8)) {
      let form = String(decoding: bytes[8..<12], as: UTF8.self)
      if form == "WEBP" { return "image" }
      if form == "WAVE" { return "audio" }
    }
    if starts(Array("fLaC".utf8)) || starts(Array("OggS".utf8)) || starts(Array("ID3".utf8)) { return "audio" }
    if bytes.count >= 2 && bytes[0] == 0xFF && (bytes[1] & 0xE0) == 0xE0 { return "audio" }  // MPEG audio frame sync
    if !data.contains(0), String(data: data, encoding: .utf8) != nil { return "text" }
    return nil
  }
}
