import Tensor

/// An audio tower: takes one window's features (as the model directory's preprocessor config prescribes; the
/// mel front ends live in Media) and returns one vector per window. Decoding and features belong to the engine.
public protocol AudioEncoder: Sendable {
  var architecture: String { get }
  var dimension: Int { get }
  /// Shape of one window's features, in the layout the front end produces (Whisper [mel, frames], AST
  /// [frames, mel]).
  var featureShape: [Int] { get }
  /// `features[b]` is one window's features; `samples[b]` how many real samples the window held (Whisper
  /// averages over the frames that cover them).
  func embed(features: [[Float]], samples: [Int]) -> [[Float]]
}
