/// An 8-bit RGB image, rows top to bottom, pixels interleaved (R, G, B): what Pillow's mode "RGB" holds.
public struct RGBImage: Sendable, Equatable {
  public let width: Int
  public let height: Int
  public var pixels: [UInt8]

  public init(width: Int, height: Int, pixels: [UInt8]) {
    precondition(pixels.count == width * height * 3, "\(pixels.count) bytes for \(width)x\(height) RGB")
    self.width = width
    self.height = height
    self.pixels = pixels
  }
}
