import Foundation

/// Encoded image bytes → upright 8-bit RGB, the format told by magic bytes.
public struct ImageDecoder: Sendable {
  /// Images with more pixels than this are refused from their header, before pixel memory is allocated.
  public var maxPixels: Int
  /// Turn JPEGs upright by their EXIF orientation, as `transformers.image_utils.load_image` does.
  public var applyEXIFOrientation: Bool

  public static let defaultMaxPixels = 50_000_000

  public init(maxPixels: Int = defaultMaxPixels, applyEXIFOrientation: Bool = true) {
    self.maxPixels = maxPixels
    self.applyEXIFOrientation = applyEXIFOrientation
  }

  public func decode(_ data: Data) throws(MediaDecodeError) -> RGBImage {
    switch try ImageFormat.sniff(data) {
    case .jpeg:
      let decoded = try JPEGDecoder.decode(data, maxPixels: maxPixels)
      return applyEXIFOrientation ? decoded.image.oriented(decoded.orientation) : decoded.image
    case .png:
      return try PNGDecoder.decode(data, maxPixels: maxPixels)
    }
  }
}
