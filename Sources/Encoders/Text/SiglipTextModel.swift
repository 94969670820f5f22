import Foundation
import Tensor
import Tokenizers

/// SigLIP's text tower (`SiglipTextModel` inside `SiglipModel`): token + position embeddings, a pre-norm
/// transformer without causal mask, the final layer norm, the hidden state at the last position through `head`.
///
/// SigLIP was trained on texts padded to `max_position_embeddings` (64) with no attention mask, and pools the last
/// position — a pad token for most texts — so every text runs at the full length, pads attended to, as the
/// reference `get_text_features(input_ids)` does on ids the processor padded with `padding="max_length"`.
public struct SiglipTextEncoder: TextEncoder, @unchecked Sendable {
  public let architecture = "siglip_text"
  public let dimension: Int
  public let maxTokens: Int
  public let vocabularySize: Int
  public let tokenizer: Tokenizer
  let width: Int
  let padID: Int32
  let tokenEmbedding: Tensor
  let positionEmbedding: Tensor
  let stack: TransformerStack
  let finalNorm: NormWeights
  let head: LinearWeights

  public init(directory: URL, config: ModelConfig, checkpoint: SafeTensorsFile) throws {
    let text = try config.section("text_config")
    width = try text.int("hidden_size", default: 768)
    vocabularySize = try text.int("vocab_size", default: 32000)
    maxTokens = try text.int("max_position_embeddings", default: 64)
    dimension = try text.int("projection_size", default: width)
    let w = Weights(file: checkpoint, prefix: "text_model.")
    tokenEmbedding = try w("embeddings.token_embedding.weight", [vocabularySize, width])
    positionEmbedding = try w("embeddings.position_embedding.weight", [maxTokens, width])
    stack = try .clipStyle(w, config: config, section: "text_config", defaults: (width, 12, 12, 3072, 1e-6, "gelu_pytorch_tanh"))
    finalNorm = try NormWeights(w, "final_layer_norm", width: width, epsilon: try text.float("layer_norm_eps", default: 1e-6))
    head = try LinearWeights(w, "head", in: width, out: dimension)
    tokenizer = try Tokenizer.forModel(in: directory)
    // The processor pads with the tokenizer's pad token (SigLIP: "</s>"; SigLIP 2's Gemma tokenizer: "<pad>").
    let settings = (try? JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("tokenizer_config.json")))) as? [String: Any]
    let padToken = (settings?["pad_token"] as? String) ?? ((settings?["pad_token"] as? [String: Any])?["content"] as? String)
    if let padToken, let id = tokenizer.id(of: padToken) {
      padID = id
    } else {
      padID = Int32(try text.int("pad_token_id", default: 1))
    }
    guard Int(padID) < vocabularySize else { throw CheckpointError("\(config.url.path): the pad token id \(padID) is outside the vocabulary") }
  }

  public func embed(_ batch: [[Int32]]) -> [[Float]] {
    embed(batch, tokenStates: false).map(\.vector)
  }

  /// Token states are SiglipTextModel's last_hidden_state at the text's own tokens (the pads' rows left out).
  public func embed(_ batch: [[Int32]], tokenStates: Bool) -> [(vector: [Float], tokens: [[Float]]?)] {
    let sequence = maxTokens
    let hidden = Tensor(zeros: [batch.count * sequence, width])
    for (b, ids) in batch.enumerated() {
      for position in 0..<sequence {
        let id = position < ids.count ? Int(ids[position]) : Int(padID)
        let row = hidden.data + (b * sequence + position) * width
        let token = tokenEmbedding.data + id * width, place = positionEmbedding.data + position * width
        for i in 0..<width { row[i] = token[i] + place[i] }
      }
    }
    stack.forward(hidden, batch: batch.count, sequence: sequence, lengths: Array(repeating: sequence, count: batch.count), causal: false)
    let pooled = Tensor(zeros: [batch.count, width])
    for b in 0..<batch.count { (pooled.data + b * width).update(from: hidden.data + (b * sequence + sequence - 1) * width, count: width) }
    finalNorm.apply(pooled)
    let projected = linear(pooled, weight: head.weight, bias: head.bias)
    guard tokenStates else { return (0..<batch.count).map { (Array(projected.row($0)), nil) } }
    finalNorm.apply(hidden)
    return (0..<batch.count).map { b in
      (Array(projected.row(b)), (0..<batch[b].count).map { t in Array(UnsafeBufferPointer(start: hidden.data + (b * sequence + t) * width, count: width)) })
    }
  }
}
