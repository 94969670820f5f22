/// Why an image or a clip could not be read. `overLimit` (more pixels than `max_image_pixels`, longer than
/// `max_audio_seconds`) is kept apart so the transport can answer RESOURCE_EXHAUSTED; everything else is `invalid`.
public struct MediaDecodeError: Error, Sendable, Equatable, CustomStringConvertible {
  public enum Kind: Sendable, Equatable {
    case invalid, overLimit
  }
  public var kind: Kind
  public var message: String
  public var description: String { message }

  public init(_ kind: Kind, _ message: String) {
    self.kind = kind
    self.message = message
  }
}
