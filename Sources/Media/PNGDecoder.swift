import CPNG
import Foundation

/// PNG → RGB through libpng; Sources/CPNG converts samples as Pillow's `convert("RGB")` does (alpha dropped).
enum PNGDecoder {
  static func decode(_ data: Data, maxPixels: Int) throws(MediaDecodeError) -> RGBImage {
    var error = [CChar](repeating: 0, count: 256)
    let result: Result<RGBImage, MediaDecodeError> = data.withUnsafeBytes { bytes in
      let source = bytes.bindMemory(to: UInt8.self).baseAddress!
      var info = chorus_png_info()
      guard chorus_png_read_info(source, bytes.count, &info, &error, error.count) == 0 else {
        return .failure(MediaDecodeError(.invalid, "cannot read the PNG header: \(message(error))"))
      }
      let width = Int(info.width), height = Int(info.height)
      if let failure = checkSize(width: width, height: height, maxPixels: maxPixels) { return .failure(failure) }
      var pixels = [UInt8](repeating: 0, count: width * height * 3)
      let status = pixels.withUnsafeMutableBufferPointer { out in
        chorus_png_decode_rgb(source, bytes.count, out.baseAddress, out.count, &error, error.count)
      }
      guard status == 0 else { return .failure(MediaDecodeError(.invalid, "the PNG data is corrupt or truncated: \(message(error))")) }
      return .success(RGBImage(width: width, height: height, pixels: pixels))
    }
    return try result.get()
  }

  private static func message(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }
}
