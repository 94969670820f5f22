import Foundation
import Tensor

/// Whisper's encoder (`WhisperModel.encoder`): conv1d(mel → d, k3) + GELU, conv1d(d → d, k3, stride 2) + GELU,
/// the sinusoidal positions stored in the checkpoint, a pre-norm transformer, the final layer norm. The embedding
/// is the mean of the last hidden state over the frames that cover the clip (⌈samples / 320⌉, at most 1500).
public struct WhisperEncoder: AudioEncoder, @unchecked Sendable {
  public let architecture = "whisper_encoder"
  public let dimension: Int
  let melBins: Int
  let frames: Int
  public var featureShape: [Int] { [melBins, frames] }
  let positions: Int
  let conv1: Tensor  // [d, melBins·3], (channel, tap) order
  let conv1Bias: Tensor
  let conv2: Tensor  // [d, d·3]
  let conv2Bias: Tensor
  let positionEmbedding: Tensor  // [positions, d]
  let stack: TransformerStack
  let finalNorm: NormWeights
  /// Input samples per output frame: hop 160 × conv2's stride 2.
  static let samplesPerFrame = 320

  public init(config: ModelConfig, checkpoint: SafeTensorsFile) throws {
    let width = try config.int("d_model", default: 512)
    dimension = width
    melBins = try config.int("num_mel_bins", default: 80)
    positions = try config.int("max_source_positions", default: 1500)
    frames = 2 * positions
    let layers = try config.int("encoder_layers", default: 6)
    let heads = try config.int("encoder_attention_heads", default: 8)
    let intermediate = try config.int("encoder_ffn_dim", default: 2048)
    let activationName = try config.string("activation_function", default: "gelu")
    guard let activation = Activation(configName: activationName) else {
      throw CheckpointError("\(config.url.path): activation_function '\(activationName)' is not supported")
    }
    // WhisperModel saves "encoder.…"; WhisperForConditionalGeneration "model.encoder.…".
    guard let prefix = Weights.detectPrefix(in: checkpoint, probe: "conv1.weight", prefixes: ["encoder.", "model.encoder."]) else {
      throw CheckpointError("\(config.url.path): no Whisper encoder weights (encoder.conv1.weight) in model.safetensors")
    }
    let w = Weights(file: checkpoint, prefix: prefix)
    conv1 = try w("conv1.weight", [width, melBins, 3]).reshaped([width, melBins * 3])
    conv1Bias = try w("conv1.bias", [width])
    conv2 = try w("conv2.weight", [width, width, 3]).reshaped([width, width * 3])
    conv2Bias = try w("conv2.bias", [width])
    positionEmbedding = try w("embed_positions.weight", [positions, width])
    let epsilon: Float = 1e-5
    stack = TransformerStack(
      layers: try (0..<layers).map { index in
        let l = w.scoped("layers.\(index).")
        // k_proj has no bias in Whisper: a zero bias keeps the fused q|k|v projection one GEMM with one bias.
        let key = LinearWeights(weight: try l("self_attn.k_proj.weight", [width, width]), bias: Tensor(zeros: [width]))
        return EncoderLayerWeights(
          qkv: .fused([try LinearWeights(l, "self_attn.q_proj", in: width, out: width), key, try LinearWeights(l, "self_attn.v_proj", in: width, out: width)]),
          attentionOutput: try LinearWeights(l, "self_attn.out_proj", in: width, out: width),
          norm1: try NormWeights(l, "self_attn_layer_norm", width: width, epsilon: epsilon),
          norm2: try NormWeights(l, "final_layer_norm", width: width, epsilon: epsilon),
          up: try LinearWeights(l, "fc1", in: width, out: intermediate),
          down: try LinearWeights(l, "fc2", in: intermediate, out: width))
      },
      width: width, heads: heads, activation: activation, placement: .pre
    ).packedForFixedShapes()  // rows repeat (frames × batch): weights packed once for oneDNN
    finalNorm = try NormWeights(w, "layer_norm", width: width, epsilon: epsilon)
  }

  public func embed(features: [[Float]], samples: [Int]) -> [[Float]] {
    let batch = features.count, width = dimension
    // conv1 as one GEMM over im2col rows [batch·frames, melBins·3]: row t holds x[c, t − 1 + j] at c·3 + j.
    let columns1 = Tensor(zeros: [batch * frames, melBins * 3])
    for b in 0..<batch {
      features[b].withUnsafeBufferPointer { x in
        for t in 0..<frames {
          let row = columns1.data + (b * frames + t) * melBins * 3
          for c in 0..<melBins {
            for j in 0..<3 where (0..<frames).contains(t - 1 + j) { row[c * 3 + j] = x[c * frames + t - 1 + j] }
          }
        }
      }
    }
    let hidden1 = linear(columns1, weight: conv1, bias: conv1Bias)
    Activation.gelu.apply(hidden1)
    // conv2 (stride 2): row t holds hidden1[2t − 1 + j, c] at c·3 + j.
    let columns2 = Tensor(zeros: [batch * positions, width * 3])
    for b in 0..<batch {
      for t in 0..<positions {
        let row = columns2.data + (b * positions + t) * width * 3
        for j in 0..<3 {
          let source = 2 * t - 1 + j
          guard (0..<frames).contains(source) else { continue }
          let input = hidden1.data + (b * frames + source) * width
          for c in 0..<width { row[c * 3 + j] = input[c] }
        }
      }
    }
    let hidden = linear(columns2, weight: conv2, bias: conv2Bias)
    Activation.gelu.apply(hidden)
    for b in 0..<batch {
      for t in 0..<positions {
        let row = hidden.data + (b * positions + t) * width, position = positionEmbedding.data + t * width
        for i in 0..<width { row[i] += position[i] }
      }
    }
    stack.forward(hidden, batch: batch, sequence: positions, lengths: Array(repeating: positions, count: batch), causal: false)
    finalNorm.apply(hidden)
    return (0..<batch).map { b in
      let covered = max(1, min(positions, (samples[b] + Self.samplesPerFrame - 1) / Self.samplesPerFrame))
      var mean = [Float](repeating: 0, count: width)
      for t in 0..<covered {
        let row = hidden.data + (b * positions + t) * width
        for i in 0..<width { mean[i] += row[i] }
      }
      return mean.map { $0 / Float(covered) }
    }
  }
}
