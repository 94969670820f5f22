import Foundation

/// Image formats told by their first bytes, never by a file name.
public enum ImageFormat: String, Sendable, CaseIterable {
  case jpeg = "JPEG"
  case png = "PNG"

  public static let supportedList = allCases.map(\.rawValue).joined(separator: ", ")

  /// The format of `data`, or an error naming what it is (when recognised) and what is supported.
  public static func sniff(_ data: Data) throws(MediaDecodeError) -> ImageFormat {
    if data.isEmpty { throw MediaDecodeError(.invalid, "the image is empty (0 bytes)") }
    let head = [UInt8](data.prefix(16))
    func starts(_ bytes: [UInt8], at offset: Int = 0) -> Bool {
      head.count >= offset + bytes.count && Array(head[offset..<offset + bytes.count]) == bytes
    }
    if starts([0xFF, 0xD8, 0xFF]) { return .jpeg }
    if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
    let known: String? =
      if starts(Array("GIF8".utf8)) { "GIF" }
      else if starts(Array("RIFF".utf8)) && starts(Array("WEBP".utf8), at: 8) { "WebP" }
      else if starts(Array("ftyp".utf8), at: 4) { "HEIF/AVIF (ISO media)" }
      else if starts(Array("BM".utf8)) { "BMP" }
      else if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) { "TIFF" }
      else if starts([0xFF, 0x0A]) || starts([0x00, 0x00, 0x00, 0x0C, 0x4A, 0x58, 0x4C, 0x20]) { "JPEG XL" }
      else { nil }
    if let known { throw MediaDecodeError(.invalid, "\(known) images are not supported (supported: \(supportedList))") }
    throw MediaDecodeError(.invalid, "not an image Chorus can read: the bytes are neither \(supportedList) (supported: \(supportedList))")
  }
}
