import Foundation
import Tensor

/// CLAP's audio tower, HTS-AT (`ClapAudioModel` + `audio_projection` inside `ClapModel`): the log-mel
/// [channels, 1001, 64] batch-normed per mel bin, stretched to 1024 frames (bicubic, align_corners) and folded
/// into a 256×256 image (four 256-frame strips stacked along frequency), 4×4 patches embedded by one GEMM (fused
/// checkpoints blend in three "local" views through the attentional feature fusion block), a four-stage Swin
/// transformer with patch merging, the final layer norm, the mean over tokens, and the two-layer projection:
/// `get_audio_features` before its L2 normalisation.
public struct HTSATEncoder: AudioEncoder, @unchecked Sendable {
  public let architecture: String
  public let dimension: Int
  public let featureShape: [Int]
  let melBins: Int
  let frames: Int
  let specSize: Int
  let patch: Int
  let patchWidth: Int
  let batchNorm: ChannelAffine
  let patchWeight: Tensor  // [patchWidth, patch·patch]
  let patchBias: Tensor
  let patchNorm: NormWeights?
  let fusion: AttentionalFeatureFusion?
  let stages: [(blocks: [SwinBlock], merge: PatchMerging?)]
  let finalNorm: NormWeights
  let activation: Activation
  let projection: (first: LinearWeights, second: LinearWeights, activation: Activation)
  private let workspaces = WorkspacePool()

  /// `preprocessor` is the directory's preprocessor_config.json: the clip length it pads to fixes the frames.
  public init(config: ModelConfig, checkpoint: SafeTensorsFile, preprocessor: ModelConfig) throws {
    let audio = try config.section("audio_config")
    melBins = try audio.int("num_mel_bins", default: 64)
    specSize = try audio.int("spec_size", default: 256)
    let patchSides = try audio.ints("patch_size", default: [4, 4]), strides = try audio.ints("patch_stride", default: [4, 4])
    patch = patchSides[0]
    patchWidth = try audio.int("patch_embeds_hidden_size", default: 96)
    let window = try audio.int("window_size", default: 8)
    let epsilon = try audio.float("layer_norm_eps", default: 1e-5)
    let mlpRatio = Double(try audio.float("mlp_ratio", default: 4))
    let depths = try audio.ints("depths", default: [2, 2, 6, 2]), heads = try audio.ints("num_attention_heads", default: [4, 8, 16, 32])
    let fused = try audio.bool("enable_fusion", default: false)
    let activationName = try audio.string("hidden_act", default: "gelu")
    guard let activation = Activation(configName: activationName) else {
      throw CheckpointError("\(config.url.path): audio_config.hidden_act '\(activationName)' is not supported")
    }
    self.activation = activation
    guard patchSides == [patch, patch], strides == patchSides, specSize % melBins == 0, depths.count == heads.count,
      try audio.int("patch_embed_input_channels", default: 1) == 1, try audio.bool("flatten_patch_embeds", default: true)
    else {
      throw CheckpointError("\(config.url.path): audio_config differs from HTS-AT's published shape (square patches with stride = size, spec_size a multiple of num_mel_bins, one input channel)")
    }
    if fused {
      let type = try audio.string("fusion_type", default: "aff_2d")
      guard type == "aff_2d" else { throw CheckpointError("\(config.url.path): audio_config.fusion_type '\(type)' is not supported (aff_2d is)") }
    }
    // ClapFeatureExtractor's frames: the padded clip's samples / hop + 1 (centred STFT).
    let samples = try preprocessor.int("max_length_s", default: 10) * preprocessor.int("sampling_rate", default: 48000)
    frames = samples / max(1, try preprocessor.int("hop_length", default: 480)) + 1
    guard frames <= specSize * (specSize / melBins), try preprocessor.int("feature_size", default: 64) == melBins else {
      throw CheckpointError("\(preprocessor.url.path): \(frames) frames of feature_size mel bins do not fit the \(specSize)×\(specSize) spectrogram image of \(config.url.path)")
    }
    // The fused tower takes four views of the clip; the front end gives them when truncation is "fusion".
    featureShape = [fused ? 4 : 1, frames, melBins]
    architecture = fused ? "clap_htsat_fused" : "clap_htsat"

    let w = Weights(file: checkpoint, prefix: "audio_model.audio_encoder.")
    batchNorm = try ChannelAffine(batchNorm: w.scoped("batch_norm."), channels: melBins)
    patchWeight = try w("patch_embed.proj.weight", [patchWidth, 1, patch, patch]).reshaped([patchWidth, patch * patch])
    patchBias = try w("patch_embed.proj.bias", [patchWidth])
    patchNorm = try audio.bool("enable_patch_layer_norm", default: true) ? try NormWeights(w, "patch_embed.norm", width: patchWidth, epsilon: 1e-5) : nil
    fusion = fused ? try AttentionalFeatureFusion(w.scoped("patch_embed."), width: patchWidth, patch: patch, ratio: try audio.int("aff_block_r", default: 4)) : nil
    var side = specSize / patch, width = patchWidth
    var stages: [(blocks: [SwinBlock], merge: PatchMerging?)] = []
    for (index, (depth, headCount)) in zip(depths, heads).enumerated() {
      guard side % min(window, side) == 0 else {
        throw CheckpointError("\(config.url.path): stage \(index)'s \(side)×\(side) grid does not divide into \(window)×\(window) windows")
      }
      let blocks = try (0..<depth).map { block in
        try SwinBlock(
          w.scoped("layers.\(index).blocks.\(block)."), width: width, heads: headCount, mlpRatio: mlpRatio, epsilon: epsilon,
          plan: WindowPlan(side: side, window: window, shifted: block % 2 == 1))
      }
      let last = index == depths.count - 1
      stages.append((blocks, last ? nil : try PatchMerging(w.scoped("layers.\(index).downsample."), width: width, epsilon: 1e-5)))
      if !last {
        side /= 2
        width *= 2
      }
    }
    self.stages = stages
    finalNorm = try NormWeights(w, "norm", width: width, epsilon: 1e-5)
    let hidden = try audio.int("hidden_size", default: 768)
    guard hidden == width else { throw CheckpointError("\(config.url.path): audio_config.hidden_size \(hidden) is not the last stage's width \(width)") }
    dimension = try audio.int("projection_dim", default: try config.int("projection_dim", default: 512))
    let p = Weights(file: checkpoint, prefix: "audio_projection.")
    let projectionActivationName = try audio.string("projection_hidden_act", default: "relu")
    guard let projectionActivation = Activation(configName: projectionActivationName) else {
      throw CheckpointError("\(config.url.path): audio_config.projection_hidden_act '\(projectionActivationName)' is not supported")
    }
    projection = (try LinearWeights(p, "linear1", in: width, out: dimension), try LinearWeights(p, "linear2", in: dimension, out: dimension), projectionActivation)
  }

  /// `features[b]` is [channels, frames, mel] as `ClapFeatureExtractor` gives it.
  public func embed(features: [[Float]], samples: [Int]) -> [[Float]] {
    let batch = features.count, channels = featureShape[0]
    let ratio = specSize / melBins, stretched = specSize * ratio
    // Per channel: batch norm per mel bin, frames stretched to spec_size·ratio, folded into the square image.
    let images = Tensor(zeros: [batch * channels, specSize * specSize])
    let coefficients = BicubicAlignCorners(from: frames, to: stretched)
    for b in 0..<batch {
      features[b].withUnsafeBufferPointer { x in
        var normed = [Float](repeating: 0, count: frames * melBins)
        for c in 0..<channels {
          for t in 0..<frames {
            for f in 0..<melBins { normed[t * melBins + f] = batchNorm.apply(x[(c * frames + t) * melBins + f], channel: f) }
          }
          let image = images.data + (b * channels + c) * specSize * specSize
          for t in 0..<stretched {
            let (strip, column) = (t / specSize, t % specSize)
            let taps = coefficients.taps(t)
            for f in 0..<melBins {
              var value: Float = 0
              for (index, weight) in taps { value += weight * normed[index * melBins + f] }
              image[(strip * melBins + f) * specSize + column] = value
            }
          }
        }
      }
    }
    let grid = specSize / patch
    let hidden = linear(unfold(images, channel: 0, channels: channels, batch: batch, kernelWidth: patch), weight: patchWeight, bias: patchBias)
    if let fusion {
      let local = fusion.localFeatures(images, batch: batch, specSize: specSize, grid: grid)
      fusion.blend(hidden, local: local, batch: batch, tokens: grid * grid)
    }
    patchNorm?.apply(hidden)

    var state = hidden, side = grid
    workspaces.withWorkspace { workspace in
      for stage in stages {
        for block in stage.blocks { block.forward(state, batch: batch, activation: activation, workspace: workspace) }
        if let merge = stage.merge {
          state = merge.forward(state, batch: batch, side: side)
          side /= 2
        }
      }
    }
    finalNorm.apply(state)
    let width = state.shape[1], tokens = side * side
    let pooled = Tensor(zeros: [batch, width])
    for b in 0..<batch {
      let out = pooled.data + b * width
      for t in 0..<tokens {
        let row = state.data + (b * tokens + t) * width
        for i in 0..<width { out[i] += row[i] }
      }
      for i in 0..<width { out[i] /= Float(tokens) }
    }
    let middle = linear(pooled, weight: projection.first.weight, bias: projection.first.bias)
    projection.activation.apply(middle)
    let projected = linear(middle, weight: projection.second.weight, bias: projection.second.bias)
    return (0..<batch).map { Array(projected.row($0)) }
  }

  /// Rows of kernel-sized patches (kernel `patch` high, `kernelWidth` wide, stride = kernel) of one channel of each
  /// image, (row, column) within the patch: the patch convolution as one GEMM.
  func unfold(_ images: Tensor, channel: Int, channels: Int, batch: Int, kernelWidth: Int) -> Tensor {
    let rows = specSize / patch, columns = specSize / kernelWidth, length = patch * kernelWidth
    let out = Tensor(zeros: [batch * rows * columns, length])
    for b in 0..<batch {
      let image = images.data + (b * channels + channel) * specSize * specSize
      for r in 0..<rows {
        for c in 0..<columns {
          let row = out.data + ((b * rows + r) * columns + c) * length
          for ky in 0..<patch { (row + ky * kernelWidth).update(from: image + (r * patch + ky) * specSize + c * kernelWidth, count: kernelWidth) }
        }
      }
    }
    return out
  }
}

/// y = x·scale + shift per channel: an inference-time batch norm (running statistics folded in).
struct ChannelAffine {
  let scale: [Float]
  let shift: [Float]

  init(batchNorm w: Weights, channels: Int, epsilon: Float = 1e-5) throws {
    let mean = try w("running_mean", [channels]), variance = try w("running_var", [channels])
    let gamma = try w("weight", [channels]), beta = try w("bias", [channels])
    scale = (0..<channels).map { gamma.data[$0] / (variance.data[$0] + epsilon).squareRoot() }
    shift = (0..<channels).map { beta.data[$0] - mean.data[$0] * gamma.data[$0] / (variance.data[$0] + epsilon).squareRoot() }
  }

  @inline(__always) func apply(_ x: Float, channel: Int) -> Float { x * scale[channel] + shift[channel] }

  /// A 1×1 convolution followed by this batch norm, as one linear layer.
  func folded(into conv: LinearWeights) -> LinearWeights {
    let out = conv.weight.shape[0], width = conv.weight.shape[1]
    let weight = Tensor(zeros: [out, width]), bias = Tensor(zeros: [out])
    for o in 0..<out {
      for i in 0..<width { weight.data[o * width + i] = conv.weight.data[o * width + i] * scale[o] }
      bias.data[o] = (conv.bias?.data[o] ?? 0) * scale[o] + shift[o]
    }
    return LinearWeights(weight: weight, bias: bias)
  }
}

/// PyTorch's bicubic interpolation with align_corners=True (A = −0.75) along one axis: each output index reads four
/// clamped neighbours.
struct BicubicAlignCorners {
  let from: Int
  let scale: Float

  init(from: Int, to: Int) {
    self.from = from
    scale = to > 1 ? Float(from - 1) / Float(to - 1) : 0
  }

  func taps(_ index: Int) -> [(Int, Float)] {
    let real = scale * Float(index)
    let base = Int(real.rounded(.down)), t = real - Float(base)
    let a: Float = -0.75
    func near(_ x: Float) -> Float { ((a + 2) * x - (a + 3)) * x * x + 1 }
    func far(_ x: Float) -> Float { ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
    let weights = [far(t + 1), near(t), near(1 - t), far(2 - t)]
    return (0..<4).map { (min(max(base - 1 + $0, 0), from - 1), weights[$0]) }
  }
}

/// The fused checkpoints' attentional feature fusion (`ClapAudioAFFBlock` after `mel_conv2d`): the three local
/// views embedded by a 4×12 convolution side by side, then w = σ(local_att(g + l) + global_att(mean(g + l))) and
/// 2·g·w + 2·l·(1 − w). The 1×1 convolutions carry their batch norms folded in.
struct AttentionalFeatureFusion {
  let melWeight: Tensor  // [width, patch·3·patch]
  let melBias: Tensor
  let patch: Int
  let localDown, localUp, globalDown, globalUp: LinearWeights

  init(_ w: Weights, width: Int, patch: Int, ratio: Int) throws {
    self.patch = patch
    melWeight = try w("mel_conv2d.weight", [width, 1, patch, 3 * patch]).reshaped([width, 3 * patch * patch])
    melBias = try w("mel_conv2d.bias", [width])
    let inner = width / ratio
    func conv(_ name: String, _ input: Int, _ output: Int) throws -> LinearWeights {
      LinearWeights(weight: try w(name + ".weight", [output, input, 1, 1]).reshaped([output, input]), bias: try w(name + ".bias", [output]))
    }
    let f = w.scoped("fusion_model.")
    localDown = try ChannelAffine(batchNorm: f.scoped("local_att.1."), channels: inner).folded(into: try conv("fusion_model.local_att.0", width, inner))
    localUp = try ChannelAffine(batchNorm: f.scoped("local_att.4."), channels: width).folded(into: try conv("fusion_model.local_att.3", inner, width))
    globalDown = try ChannelAffine(batchNorm: f.scoped("global_att.2."), channels: inner).folded(into: try conv("fusion_model.global_att.1", width, inner))
    globalUp = try ChannelAffine(batchNorm: f.scoped("global_att.5."), channels: width).folded(into: try conv("fusion_model.global_att.4", inner, width))
  }

  /// [batch · grid², width]: each local view's 4×12 patches (grid × ⌊spec/12⌋ of them), the views side by side
  /// along the time axis, zero-padded to the grid's width.
  func localFeatures(_ images: Tensor, batch: Int, specSize: Int, grid: Int) -> Tensor {
    let width = melWeight.shape[0], kernelWidth = 3 * patch, columns = specSize / kernelWidth
    let local = Tensor(zeros: [batch * grid * grid, width])
    for view in 1...3 {
      let patches = Tensor(zeros: [batch * grid * columns, patch * kernelWidth])
      for b in 0..<batch {
        let image = images.data + (b * 4 + view) * specSize * specSize
        for r in 0..<grid {
          for c in 0..<columns {
            let row = patches.data + ((b * grid + r) * columns + c) * patch * kernelWidth
            for ky in 0..<patch { (row + ky * kernelWidth).update(from: image + (r * patch + ky) * specSize + c * kernelWidth, count: kernelWidth) }
          }
        }
      }
      let embedded = linear(patches, weight: melWeight, bias: melBias)
      for b in 0..<batch {
        for r in 0..<grid {
          for c in 0..<columns where (view - 1) * columns + c < grid {
            (local.data + ((b * grid + r) * grid + (view - 1) * columns + c) * width).update(from: embedded.data + ((b * grid + r) * columns + c) * width, count: width)
          }
        }
      }
    }
    return local
  }

  /// `global` ([batch · tokens, width]) becomes the fused map in place.
  func blend(_ global: Tensor, local: Tensor, batch: Int, tokens: Int) {
    let width = global.shape[1]
    let sum = Tensor(zeros: [batch * tokens, width])
    for i in 0..<sum.count { sum.data[i] = global.data[i] + local.data[i] }
    let localGate = linear(sum, weight: localDown.weight, bias: localDown.bias)
    Activation.relu.apply(localGate)
    let gate = linear(localGate, weight: localUp.weight, bias: localUp.bias)
    let mean = Tensor(zeros: [batch, width])
    for b in 0..<batch {
      for t in 0..<tokens {
        for i in 0..<width { mean.data[b * width + i] += sum.data[(b * tokens + t) * width + i] }
      }
      for i in 0..<width { mean.data[b * width + i] /= Float(tokens) }
    }
    let globalGate = linear(mean, weight: globalDown.weight, bias: globalDown.bias)
    Activation.relu.apply(globalGate)
    let context = linear(globalGate, weight: globalUp.weight, bias: globalUp.bias)
    for b in 0..<batch {
      for t in 0..<tokens {
        let row = (b * tokens + t) * width
        for i in 0..<width {
          let weight = 1 / (1 + exp(-(gate.data[row + i] + context.data[b * width + i])))
          global.data[row + i] = 2 * global.data[row + i] * weight + 2 * local.data[row + i] * (1 - weight)
        }
      }
    }
  }
}
