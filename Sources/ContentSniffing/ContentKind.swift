import Foundation

/// The modality of a file told from its bytes, never its name: the CLI uses it to pick the input field of a file
/// it sends, the daemon for server-side files sent without a modality. Every image format the decoders know of
/// counts as an image (so an unsupported one gets the image decoder's error naming the supported formats).
public enum ContentKind {
  public static func modality(of data: Data) -> String? {
    let bytes = [UInt8](data.prefix(12))
    func starts(_ prefix: [UInt8], at offset: Int = 0) -> Bool {
      bytes.count >= offset + prefix.count && Array(bytes[offset..<(offset + prefix.count)]) == prefix
    }
    if starts([0xFF, 0xD8, 0xFF]) || starts([0x89, 0x50, 0x4E, 0x47]) || starts(Array("GIF8".utf8)) || starts(Array("BM".utf8))
      || starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) || starts(Array("ftyp".utf8), at: 4)
    {
      return "image"
    }
    if starts(Array("RIFF".utf8)) && starts(Array("WEBP".utf8), at: 8) { return "image" }
    if starts(Array("RIFF".utf8)) && starts(Array("WAVE".utf8), at: 8) { return "audio" }
    if starts(Array("fLaC".utf8)) || starts(Array("OggS".utf8)) || starts(Array("ID3".utf8)) { return "audio" }
    if bytes.count >= 2 && bytes[0] == 0xFF && (bytes[1] & 0xE0) == 0xE0 { return "audio" }  // MPEG audio frame sync
    if !data.contains(0), String(data: data, encoding: .utf8) != nil { return "text" }
    return nil
  }
}
