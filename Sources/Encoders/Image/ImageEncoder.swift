import Tensor

/// An image tower: takes preprocessed pixel tensors [batch, channels, size, size] (as the model directory's
/// preprocessor config prescribes) and returns one vector per image. Decoding and preprocessing belong to the
/// Media module and the engine.
public protocol ImageEncoder: Sendable {
  var architecture: String { get }
  var dimension: Int { get }
  /// Side of the square input, in pixels.
  var imageSize: Int { get }
  func embed(pixels: Tensor) -> [[Float]]
}
