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

/// Why an image could not be read. `tooLarge` is kept apart so the transport can answer RESOURCE_EXHAUSTED.
public struct ImageDecodeError: Error, Sendable, Equatable, CustomStringConvertible {
  public enum Kind: Sendable, Equatable {
    case invalid, tooLarge
  }
  public var kind: Kind
  public var message: String
  public var description: String { message }

  public init(_ kind: Kind, _ message: String) {
    self.kind = kind
    self.message = message
  }
}
