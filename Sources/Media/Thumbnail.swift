import CTurboJPEG
import Foundation

/// Small JPEG previews of images, kept with collection items so a page can show hits without the daemon ever
/// reading a path a request names.
public enum Thumbnail {
  /// Longest side of a thumbnail, in pixels; smaller images keep their size.
  public static let longestSide = 256

  /// The image shrunk (antialiased bilinear, Pillow's filter) to fit `longestSide`, as a JPEG (TurboJPEG, quality
  /// 85, 4:2:0). nil only if the encoder fails, which does not happen for a valid image.
  public static func jpeg(of image: RGBImage, longestSide: Int = longestSide, quality: Int32 = 85) -> Data? {
    let scale = min(1, Double(longestSide) / Double(max(image.width, image.height)))
    let width = max(1, Int((Double(image.width) * scale).rounded()))
    let height = max(1, Int((Double(image.height) * scale).rounded()))
    let small = width == image.width && height == image.height ? image : image.resized(width: width, height: height, filter: .bilinear)
    guard let handle = tjInitCompress() else { return nil }
    defer { tjDestroy(handle) }
    var buffer: UnsafeMutablePointer<UInt8>?
    var size: UInt = 0
    let status = small.pixels.withUnsafeBufferPointer { pixels in
      tjCompress2(
        handle, pixels.baseAddress, Int32(width), 0, Int32(height), Int32(TJPF_RGB.rawValue), &buffer, &size, Int32(TJSAMP_420.rawValue), quality,
        0)
    }
    defer { tjFree(buffer) }
    guard status == 0, let buffer else { return nil }
    return Data(bytes: buffer, count: Int(size))
  }
}
