import Foundation
import Tensor

/// EfficientNet-Lite (`efficientnet_lite_pytorch`'s EfficientNet with the lite settings: ReLU6, no
/// squeeze-excitation, TensorFlow "SAME" padding): the ImageNet classifier's logits. Batch norms are folded into
/// the convolutions at load; activations are channels-last so every 1×1 convolution is one GEMM over all pixels
/// of the batch (in the model's precision: int8 and bf16 apply to these GEMMs; the stem and the depthwise
/// convolutions stay fp32).
public struct EfficientNetLiteClassifier: ImageEncoder, @unchecked Sendable {
  public let architecture = "efficientnet_lite"
  /// The logits: one per class.
  public let dimension: Int
  public let imageSize: Int

  struct Block {
    let expand: LinearWeights?
    let depthwise: (weight: Tensor, bias: Tensor)
    let project: LinearWeights
    let kernel: Int
    let stride: Int
    let residual: Bool
  }

  let stem: (weight: Tensor, bias: Tensor)
  let blocks: [Block]
  let head: LinearWeights
  let classifier: LinearWeights
  /// Activation buffers reused across calls (fresh multi-megabyte buffers cost page faults every time).
  private let workspaces = WorkspacePool()

  public init(config: ModelConfig, checkpoint: SafeTensorsFile) throws {
    imageSize = try config.int("image_size", default: 224)
    dimension = try config.int("num_classes", default: 1000)
    let epsilon = try config.float("batch_norm_epsilon", default: 1e-3)
    guard try config.float("width_coefficient", default: 1) == 1, try config.float("depth_coefficient", default: 1) == 1 else {
      throw CheckpointError("\(config.url.path): only EfficientNet-Lite0's coefficients (width 1.0, depth 1.0) are supported")
    }
    guard let arguments = config.values["blocks_args"] as? [String] else {
      throw CheckpointError("\(config.url.path): 'blocks_args' is missing or not a list of strings")
    }
    let w = Weights(file: checkpoint)
    func folded(_ convolution: String, _ norm: String, _ shape: [Int]) throws -> (weight: Tensor, bias: Tensor) {
      try foldBatchNorm(w(convolution + ".weight", shape), w, norm, epsilon: epsilon)
    }
    let stemChannels = 32, headChannels = 1280
    let stemFolded = try folded("_conv_stem", "_bn0", [stemChannels, 3, 3, 3])
    stem = (reorderedConvolutionWeight(stemFolded.weight), stemFolded.bias)

    var blocks: [Block] = []
    for argument in arguments {
      let spec = try BlockSpec(argument, file: config.url.path)
      for repeatIndex in 0..<spec.repeats {
        let input = repeatIndex == 0 ? spec.input : spec.output
        let stride = repeatIndex == 0 ? spec.stride : 1
        let expanded = input * spec.expansion
        let p = "_blocks.\(blocks.count)."
        let expand = spec.expansion == 1 ? nil : try folded(p + "_expand_conv", p + "_bn0", [expanded, input, 1, 1])
        let depthwise = try folded(p + "_depthwise_conv", p + "_bn1", [expanded, 1, spec.kernel, spec.kernel])
        let project = try folded(p + "_project_conv", p + "_bn2", [spec.output, expanded, 1, 1])
        blocks.append(
          Block(
            expand: expand.map { LinearWeights(weight: $0.weight.reshaped([expanded, input]), bias: $0.bias).packedForFixedShapes() },
            depthwise: (depthwiseWeight(depthwise.weight), depthwise.bias),
            project: LinearWeights(weight: project.weight.reshaped([spec.output, expanded]), bias: project.bias).packedForFixedShapes(),
            kernel: spec.kernel, stride: stride, residual: stride == 1 && input == spec.output))
      }
    }
    self.blocks = blocks
    let last = blocks.last?.project.weight.shape[0] ?? stemChannels
    let headFolded = try folded("_conv_head", "_bn1", [headChannels, last, 1, 1])
    head = LinearWeights(weight: headFolded.weight.reshaped([headChannels, last]), bias: headFolded.bias).packedForFixedShapes()
    classifier = try LinearWeights(w, "_fc", in: headChannels, out: dimension)
  }

  /// Images per forward pass. A convolution's GEMMs already have 12,544 rows per image at the stem, so larger
  /// passes gain nothing, while the activations grow with the pass (about 15 MB an image): a batch of 32 in one
  /// pass held 480 MB of workspace; in passes of 4, 60 MB.
  static let imagesPerPass = 4

  /// `pixels` is [batch, 3, size, size], normalised; returns the logits of each image.
  public func embed(pixels: Tensor) -> [[Float]] {
    let batch = pixels.shape[0]
    return workspaces.withWorkspace { workspace in
      stride(from: 0, to: batch, by: Self.imagesPerPass).flatMap { start in
        forward(pixels.slice(start..<min(batch, start + Self.imagesPerPass)), workspace)
      }
    }
  }

  // Workspace slots: the block input/output ping-pongs between two; expansion and depthwise outputs have their own.
  private enum Slot {
    static let input = 0, unfolded = 1, even = 2, odd = 3, expanded = 4, spatial = 5, features = 6
  }

  private func forward(_ pixels: Tensor, _ workspace: Workspace) -> [[Float]] {
    let batch = pixels.shape[0], side = imageSize, plane = side * side
    // Channel-first pixels to channels-last rows.
    let input = workspace.tensor(Slot.input, [batch * plane, 3])
    for b in 0..<batch {
      for c in 0..<3 {
        let source = pixels.data + (b * 3 + c) * plane
        for p in 0..<plane { input.data[(b * plane + p) * 3 + c] = source[p] }
      }
    }
    var current = Slot.even
    var (x, height, width) = convolution(
      input, batch: batch, height: side, width: side, channels: 3, weight: stem.weight, bias: stem.bias, kernel: 3, stride: 2,
      activation: .relu6, scratch: workspace, slot: Slot.unfolded
    ) { h, w in workspace.tensor(current, [batch * h * w, stem.weight.shape[0]]) }
    for block in blocks {
      var hidden = x
      if let expand = block.expand {
        hidden = workspace.tensor(Slot.expanded, [batch * height * width, expand.weight.shape[0]])
        expand.apply(x, into: hidden)
        clampRelu6(hidden)
      }
      let channels = block.depthwise.weight.shape[1]
      let (spatial, outHeight, outWidth) = depthwiseConvolution(
        hidden, batch: batch, height: height, width: width, channels: channels, weight: block.depthwise.weight, bias: block.depthwise.bias,
        kernel: block.kernel, stride: block.stride, activation: .relu6
      ) { h, w in workspace.tensor(Slot.spatial, [batch * h * w, channels]) }
      if block.residual {
        block.project.accumulate(spatial, into: x)  // x += project(spatial)
      } else {
        current = current == Slot.even ? Slot.odd : Slot.even
        x = workspace.tensor(current, [batch * outHeight * outWidth, block.project.weight.shape[0]])
        block.project.apply(spatial, into: x)
      }
      (height, width) = (outHeight, outWidth)
    }
    let features = workspace.tensor(Slot.features, [batch * height * width, head.weight.shape[0]])
    head.apply(x, into: features)
    clampRelu6(features)
    let pooled = averagePool(features, batch: batch, pixels: height * width, channels: head.weight.shape[0])
    let logits = linear(pooled, weight: classifier.weight, bias: classifier.bias)
    return (0..<batch).map { Array(logits.row($0)) }
  }
}

/// One line of `blocks_args`, e.g. "r2_k5_s22_e6_i24_o40": repeats, kernel, stride, expansion, input and output
/// channels (TensorFlow's EfficientNet block notation).
struct BlockSpec {
  let repeats, kernel, stride, expansion, input, output: Int

  init(_ text: String, file: String) throws {
    var values: [Character: Int] = [:]
    for part in text.split(separator: "_") {
      guard let key = part.first, let value = Int(part.dropFirst()) else { throw CheckpointError("\(file): bad block argument '\(text)'") }
      values[key] = value
    }
    guard let r = values["r"], let k = values["k"], let s = values["s"], let e = values["e"], let i = values["i"], let o = values["o"],
      [11, 22].contains(s), r > 0, k % 2 == 1
    else {
      throw CheckpointError("\(file): block argument '\(text)' needs r, k (odd), s (11 or 22), e, i and o")
    }
    (repeats, kernel, stride, expansion, input, output) = (r, k, s / 11, e, i, o)
  }
}

/// A convolution followed by batch norm as one convolution: w·γ/√(σ²+ε) and β − μ·γ/√(σ²+ε) per output channel.
func foldBatchNorm(_ weight: Tensor, _ w: Weights, _ norm: String, epsilon: Float) throws -> (weight: Tensor, bias: Tensor) {
  let channels = weight.shape[0], perChannel = weight.count / channels
  let gamma = try w(norm + ".weight", [channels]), beta = try w(norm + ".bias", [channels])
  let mean = try w(norm + ".running_mean", [channels]), variance = try w(norm + ".running_var", [channels])
  let folded = Tensor(zeros: weight.shape), bias = Tensor(zeros: [channels])
  for c in 0..<channels {
    let scale = gamma.data[c] / (variance.data[c] + epsilon).squareRoot()
    for i in 0..<perChannel { folded.data[c * perChannel + i] = weight.data[c * perChannel + i] * scale }
    bias.data[c] = beta.data[c] - mean.data[c] * scale
  }
  return (folded, bias)
}
