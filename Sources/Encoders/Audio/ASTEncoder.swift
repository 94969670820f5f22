import Foundation
import Tensor

/// The Audio Spectrogram Transformer (`ASTModel`): 16×16 patches of the [time, mel] filter bank taken every
/// `frequency_stride` mel bins and `time_stride` frames (they overlap: 10 by default) and embedded by one GEMM,
/// class and distillation tokens, learned positions, a pre-norm ViT, the final layer norm. The embedding is the
/// pooler output: the mean of the two special tokens.
public struct ASTEncoder: AudioEncoder, @unchecked Sendable {
  public let architecture = "audio_spectrogram_transformer"
  public let dimension: Int
  public let featureShape: [Int]
  let melBins: Int
  let maxLength: Int
  let patch: Int
  let frequencyStride: Int
  let timeStride: Int
  let frequencyPatches: Int
  let timePatches: Int
  let patchWeight: Tensor  // [d, patch·patch], (frequency, time) order within a patch
  let patchBias: Tensor
  let specialTokens: Tensor  // [2, d]: class, distillation
  let positionEmbedding: Tensor  // [patches + 2, d]
  let stack: TransformerStack
  let finalNorm: NormWeights

  public init(config: ModelConfig, checkpoint: SafeTensorsFile) throws {
    let width = try config.int("hidden_size", default: 768)
    dimension = width
    melBins = try config.int("num_mel_bins", default: 128)
    maxLength = try config.int("max_length", default: 1024)
    featureShape = [maxLength, melBins]
    patch = try config.int("patch_size", default: 16)
    frequencyStride = try config.int("frequency_stride", default: 10)
    timeStride = try config.int("time_stride", default: 10)
    frequencyPatches = (melBins - patch) / frequencyStride + 1
    timePatches = (maxLength - patch) / timeStride + 1
    let layers = try config.int("num_hidden_layers", default: 12)
    let heads = try config.int("num_attention_heads", default: 12)
    let intermediate = try config.int("intermediate_size", default: 3072)
    let epsilon = try config.float("layer_norm_eps", default: 1e-12)
    let activationName = try config.string("hidden_act", default: "gelu")
    guard let activation = Activation(configName: activationName) else {
      throw CheckpointError("\(config.url.path): hidden_act '\(activationName)' is not supported")
    }
    // ASTModel saves "embeddings.…"; ASTForAudioClassification "audio_spectrogram_transformer.embeddings.…".
    guard let prefix = Weights.detectPrefix(in: checkpoint, probe: "embeddings.cls_token", prefixes: ["", "audio_spectrogram_transformer."]) else {
      throw CheckpointError("\(config.url.path): no AST weights (embeddings.cls_token) in model.safetensors")
    }
    let w = Weights(file: checkpoint, prefix: prefix)
    let patches = frequencyPatches * timePatches
    patchWeight = try w("embeddings.patch_embeddings.projection.weight", [width, 1, patch, patch]).reshaped([width, patch * patch])
    patchBias = try w("embeddings.patch_embeddings.projection.bias", [width])
    specialTokens = Tensor.concatenate([try w("embeddings.cls_token", [1, 1, width]).reshaped([1, width]), try w("embeddings.distillation_token", [1, 1, width]).reshaped([1, width])])
    positionEmbedding = try w("embeddings.position_embeddings", [1, patches + 2, width]).reshaped([patches + 2, width])
    stack = TransformerStack(
      layers: try (0..<layers).map { index in
        let l = w.scoped("encoder.layer.\(index).")
        return EncoderLayerWeights(
          qkv: .fused([
            try LinearWeights(l, "attention.attention.query", in: width, out: width),
            try LinearWeights(l, "attention.attention.key", in: width, out: width),
            try LinearWeights(l, "attention.attention.value", in: width, out: width),
          ]),
          attentionOutput: try LinearWeights(l, "attention.output.dense", in: width, out: width),
          norm1: try NormWeights(l, "layernorm_before", width: width, epsilon: epsilon),
          norm2: try NormWeights(l, "layernorm_after", width: width, epsilon: epsilon),
          up: try LinearWeights(l, "intermediate.dense", in: width, out: intermediate),
          down: try LinearWeights(l, "output.dense", in: intermediate, out: width))
      },
      width: width, heads: heads, activation: activation, placement: .pre
    ).packedForFixedShapes()  // rows repeat (frames × batch): weights packed once for oneDNN
    finalNorm = try NormWeights(w, "layernorm", width: width, epsilon: epsilon)
  }

  /// `features[b]` is [maxLength, melBins] (time-major, as `ASTFeatureExtractor` returns it).
  public func embed(features: [[Float]], samples: [Int]) -> [[Float]] {
    let batch = features.count, width = dimension
    let patches = frequencyPatches * timePatches, sequence = patches + 2, area = patch * patch
    // The reference transposes to [mel, time] and convolves; patch (f, t) holds mel rows f·fs…, frames t·ts….
    let unfolded = Tensor(zeros: [batch * patches, area])
    for b in 0..<batch {
      features[b].withUnsafeBufferPointer { x in
        for f in 0..<frequencyPatches {
          for t in 0..<timePatches {
            let row = unfolded.data + (b * patches + f * timePatches + t) * area
            for i in 0..<patch {
              for j in 0..<patch { row[i * patch + j] = x[(t * timeStride + j) * melBins + f * frequencyStride + i] }
            }
          }
        }
      }
    }
    let embedded = linear(unfolded, weight: patchWeight, bias: patchBias)
    let hidden = Tensor(zeros: [batch * sequence, width])
    for b in 0..<batch {
      for s in 0..<sequence {
        let row = hidden.data + (b * sequence + s) * width
        let source = s < 2 ? specialTokens.data + s * width : embedded.data + (b * patches + s - 2) * width
        let position = positionEmbedding.data + s * width
        for i in 0..<width { row[i] = source[i] + position[i] }
      }
    }
    stack.forward(hidden, batch: batch, sequence: sequence, lengths: Array(repeating: sequence, count: batch), causal: false)
    finalNorm.apply(hidden)
    return (0..<batch).map { b in
      let first = hidden.data + b * sequence * width, second = first + width
      return (0..<width).map { (first[$0] + second[$0]) / 2 }
    }
  }
}
