import Foundation
import Tensor
import Tokenizers

/// CLAP's text tower (`ClapTextModel` + `text_projection` inside `ClapModel`): RoBERTa, its pooler (dense + tanh
/// on the first token) and a two-layer projection: `get_text_features` before its L2 normalisation.
public struct ClapTextEncoder: TextEncoder, @unchecked Sendable {
  public let architecture = "clap_text"
  public let dimension: Int
  public let maxTokens: Int
  public var vocabularySize: Int { backbone.vocabularySize }
  public let tokenizer: Tokenizer
  let backbone: BertModel
  let pooler: LinearWeights
  let projection: (first: LinearWeights, second: LinearWeights, activation: Activation)

  public init(directory: URL, config: ModelConfig, checkpoint: SafeTensorsFile) throws {
    let text = try config.section("text_config")
    backbone = try BertModel(config: text, checkpoint: checkpoint, positionOffset: try text.int("pad_token_id", default: 1) + 1, prefixes: ["text_model."])
    let width = backbone.hiddenSize
    dimension = try text.int("projection_dim", default: try config.int("projection_dim", default: 512))
    pooler = try LinearWeights(Weights(file: checkpoint, prefix: "text_model."), "pooler.dense", in: width, out: width)
    let p = Weights(file: checkpoint, prefix: "text_projection.")
    let activationName = try text.string("projection_hidden_act", default: "relu")
    guard let activation = Activation(configName: activationName) else {
      throw CheckpointError("\(config.url.path): text_config.projection_hidden_act '\(activationName)' is not supported")
    }
    projection = (try LinearWeights(p, "linear1", in: width, out: dimension), try LinearWeights(p, "linear2", in: dimension, out: dimension), activation)
    tokenizer = try Tokenizer.forModel(in: directory)
    maxTokens = backbone.maxPositions
  }

  public func embed(_ batch: [[Int32]]) -> [[Float]] {
    embed(batch, tokenStates: false).map(\.vector)
  }

  /// Token states are ClapTextModel's last_hidden_state.
  public func embed(_ batch: [[Int32]], tokenStates: Bool) -> [(vector: [Float], tokens: [[Float]]?)] {
    let (hidden, layout) = backbone.forward(batch)
    let width = backbone.hiddenSize
    let first = Tensor(zeros: [batch.count, width])
    for b in 0..<batch.count { (first.data + b * width).update(from: hidden.data + layout.starts[b] * width, count: width) }
    let pooled = linear(first, weight: pooler.weight, bias: pooler.bias)
    for i in 0..<pooled.count { pooled.data[i] = tanh(pooled.data[i]) }
    let middle = linear(pooled, weight: projection.first.weight, bias: projection.first.bias)
    projection.activation.apply(middle)
    let projected = linear(middle, weight: projection.second.weight, bias: projection.second.bias)
    return (0..<batch.count).map { b in
      let tokens = tokenStates ? (0..<batch[b].count).map { t in Array(UnsafeBufferPointer(start: hidden.data + (layout.starts[b] + t) * width, count: width)) } : nil
      return (Array(projected.row(b)), tokens)
    }
  }
}
