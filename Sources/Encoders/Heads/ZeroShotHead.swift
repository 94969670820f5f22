import Foundation
import Tensor

/// How a model family turns cosines between one input and each label into probabilities, as its reference does:
/// CLIP and CLAP a softmax over `logit_scale.exp() · cosine` (`logits_per_image.softmax`), SigLIP a sigmoid of
/// `logit_scale.exp() · cosine + logit_bias` per label. A checkpoint without a learned temperature (a
/// sentence-transformers model, the starter) gets a softmax at a fixed one, and says so (`learned == false`).
public struct ZeroShotHead: Sendable, Equatable {
  public enum Rule: String, Sendable {
    case softmax, sigmoid
  }

  public var rule: Rule
  /// The multiplier of the cosine (the exponentiated `logit_scale`).
  public var scale: Float
  public var bias: Float
  /// Whether scale (and bias) come from the checkpoint.
  public var learned: Bool

  /// CLIP's initial temperature (1/0.07), the convention for spaces that learned none.
  public static let fixed = ZeroShotHead(rule: .softmax, scale: 1 / 0.07, bias: 0, learned: false)

  public init(rule: Rule, scale: Float, bias: Float, learned: Bool) {
    self.rule = rule
    self.scale = scale
    self.bias = bias
    self.learned = learned
  }

  /// Reads the log temperature `scaleName` (and `logit_bias` for sigmoid) from the checkpoint; nil when it has none.
  init?(checkpoint: SafeTensorsFile, rule: Rule, scaleName: String = "logit_scale") throws {
    guard let entry = checkpoint.entries[scaleName] else { return nil }
    let w = Weights(file: checkpoint)
    let logScale = try w(scaleName, entry.shape).data[0]
    var bias: Float = 0
    if rule == .sigmoid { bias = try w("logit_bias", checkpoint.entries["logit_bias"]?.shape ?? [1]).data[0] }
    self.init(rule: rule, scale: exp(logScale), bias: bias, learned: true)
  }

  /// One probability per label, in the labels' order. Vectors need not be normalised.
  public func probabilities(input: [Float], labels: [[Float]]) -> [Float] {
    let query = l2Normalized(input)
    let logits = labels.map { label in scale * zip(query, l2Normalized(label)).reduce(0) { $0 + $1.0 * $1.1 } + bias }
    switch rule {
    case .sigmoid:
      return logits.map { 1 / (1 + exp(-$0)) }
    case .softmax:
      let top = logits.max() ?? 0
      let weights = logits.map { exp($0 - top) }
      let total = weights.reduce(0, +)
      return weights.map { $0 / total }
    }
  }
}
