import Foundation
import Tensor
import Tokenizers

/// CLIP's text tower (`CLIPTextModelWithProjection` inside `CLIPModel`): token + position embeddings, a
/// pre-norm causal transformer, final layer norm, the hidden state at the end-of-text token, text_projection.
public struct CLIPTextEncoder: TextEncoder, @unchecked Sendable {
  public let architecture = "clip_text"
  public let dimension: Int
  public let maxTokens: Int
  public let vocabularySize: Int
  public let tokenizer: Tokenizer
  let width: Int
  let tokenEmbedding: Tensor
  let positionEmbedding: Tensor
  let stack: TransformerStack
  let finalNorm: NormWeights
  let projection: Tensor
  /// Old configs say eos_token_id 2 and transformers then pools at the highest id; otherwise at the first eos.
  let poolAtHighestID: Bool
  let eosID: Int32

  public init(directory: URL, config: ModelConfig, checkpoint: SafeTensorsFile) throws {
    let text = try config.section("text_config")
    let width = try text.int("hidden_size", default: 512)
    self.width = width
    let vocabulary = try text.int("vocab_size", default: 49408)
    vocabularySize = vocabulary
    let positions = try text.int("max_position_embeddings", default: 77)
    let epsilon = try text.float("layer_norm_eps", default: 1e-5)
    dimension = try config.int("projection_dim", default: 512)
    let eos = try text.int("eos_token_id", default: 2)
    poolAtHighestID = eos == 2
    eosID = Int32(eos)

    let w = Weights(file: checkpoint, prefix: "text_model.")
    tokenEmbedding = try w("embeddings.token_embedding.weight", [vocabulary, width])
    positionEmbedding = try w("embeddings.position_embedding.weight", [positions, width])
    stack = try .clipStyle(w, config: config, section: "text_config", defaults: (width, 8, 12, 2048, 1e-5, "quick_gelu"))
    finalNorm = try NormWeights(w, "final_layer_norm", width: width, epsilon: epsilon)
    projection = try Weights(file: checkpoint)("text_projection.weight", [dimension, width])
    tokenizer = try Tokenizer.forModel(in: directory)
    maxTokens = positions
  }

  public func embed(_ batch: [[Int32]]) -> [[Float]] {
    embed(batch, tokenStates: false).map(\.vector)
  }

  /// Token states are CLIPTextModel's last_hidden_state: every row after the final layer norm.
  public func embed(_ batch: [[Int32]], tokenStates: Bool) -> [(vector: [Float], tokens: [[Float]]?)] {
    let sequence = batch.map(\.count).max() ?? 0
    let hidden = Tensor(zeros: [batch.count * sequence, width])
    for (b, ids) in batch.enumerated() {
      for (position, id) in ids.enumerated() {
        let row = hidden.data + (b * sequence + position) * width
        let token = tokenEmbedding.data + Int(id) * width, place = positionEmbedding.data + position * width
        for i in 0..<width { row[i] = token[i] + place[i] }
      }
    }
    stack.forward(hidden, batch: batch.count, sequence: sequence, lengths: batch.map(\.count), causal: true)
    // Only the pooled rows need the final norm and the projection.
    let pooled = Tensor(zeros: [batch.count, width])
    for (b, ids) in batch.enumerated() {
      let position = ids.firstIndex(of: poolAtHighestID ? ids.max()! : eosID) ?? 0
      (pooled.data + b * width).update(from: hidden.data + (b * sequence + position) * width, count: width)
    }
    finalNorm.apply(pooled)
    let projected = linear(pooled, weight: projection, bias: nil)
    guard tokenStates else { return (0..<batch.count).map { (Array(projected.row($0)), nil) } }
    finalNorm.apply(hidden)
    return (0..<batch.count).map { b in
      (Array(projected.row(b)), (0..<batch[b].count).map { t in Array(UnsafeBufferPointer(start: hidden.data + (b * sequence + t) * width, count: width)) })
    }
  }
}
