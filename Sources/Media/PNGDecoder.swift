import CPNG
import Foundation

/// PNG → RGB through libpng (Sources/CPNG converts samples as Pillow does); transparency is composited onto
/// white, as transformers' `convert_to_rgb` does before any model sees the image.
enum PNGDecoder {
  static func decode(_ data: Data, maxPixels: Int) throws(ImageDecodeError) -> RGBImage {
    var error = [CChar](repeating: 0, count: 256)
    let result: Result<RGBImage, ImageDecodeError> = data.withUnsafeBytes { bytes in
      let source = bytes.bindMemory(to: UInt8.self).baseAddress!
      var info = chorus_png_info()
      guard chorus_png_read_info(source, bytes.count, &info, &error, error.count) == 0 else {
        return .failure(ImageDecodeError(.invalid, "cannot read the PNG header: \(message(error))"))
      }
      let width = Int(info.width), height = Int(info.height)
      if let failure = checkSize(width: width, height: height, maxPixels: maxPixels) { return .failure(failure) }
      var rgba = [UInt8](repeating: 0, count: width * height * 4)
      let status = rgba.withUnsafeMutableBufferPointer { out in
        chorus_png_decode_rgba(source, bytes.count, out.baseAddress, out.count, &error, error.count)
      }
      guard status == 0 else { return .failure(ImageDecodeError(.invalid, "the PNG data is corrupt or truncated: \(message(error))")) }
      return .success(RGBImage(width: width, height: height, pixels: flattenOntoWhite(rgba, composite: info.has_alpha != 0)))
    }
    return try result.get()
  }

  private static func message(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// RGBA → RGB. With `composite`, Pillow's `alpha_composite` onto opaque white in its 7-bit fixed point (with an
  /// opaque white destination its coefficients reduce to α·128 and (255 − α)·128); checked equal to Pillow for
  /// every (value, alpha) pair. Without, alpha is all 255 and simply dropped.
  static func flattenOntoWhite(_ rgba: [UInt8], composite: Bool) -> [UInt8] {
    let count = rgba.count / 4
    var rgb = [UInt8](repeating: 0, count: count * 3)
    rgba.withUnsafeBufferPointer { input in
      rgb.withUnsafeMutableBufferPointer { output in
        for index in 0..<count {
          let alpha = UInt32(input[4 * index + 3])
          for channel in 0..<3 {
            let value = UInt32(input[4 * index + channel])
            if !composite {
              output[3 * index + channel] = UInt8(value)
            } else {
              let mixed = 128 * (value * alpha + 255 * (255 - alpha)) + (0x80 << 7)
              output[3 * index + channel] = UInt8((((mixed >> 8) + mixed) >> 8) >> 7)
            }
          }
        }
      }
    }
    return rgb
  }
}
