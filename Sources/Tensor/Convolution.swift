/// Convolutions over channels-last images ([batch, height, width, channels], rows of pixels): a 1×1 convolution
/// is then a plain GEMM over all pixels of all images at once, and a depthwise one runs along contiguous channels.
/// Padding is TensorFlow's "SAME" (as `efficientnet_lite_pytorch`'s static same-padding convolutions): the output
/// is ⌈input / stride⌉ and the padding splits with the smaller half first.
public struct SamePadding: Sendable, Equatable {
  public let output: Int
  public let before: Int

  public init(input: Int, kernel: Int, stride: Int) {
    output = (input + stride - 1) / stride
    before = max((output - 1) * stride + kernel - input, 0) / 2
  }
}

/// Which activation a convolution's output goes through, applied while the values are in cache.
public enum ConvolutionActivation: Sendable {
  case none, relu6
}

/// A dense k×k convolution as one GEMM: patches unfolded into rows of (row, column, channel) and multiplied by
/// `weight` [out, k·k·in] in the same order (`reorderedConvolutionWeight` makes it from PyTorch's layout).
public func convolution(
  _ x: Tensor, batch: Int, height: Int, width: Int, channels: Int, weight: Tensor, bias: Tensor, kernel: Int, stride: Int,
  activation: ConvolutionActivation
) -> (output: Tensor, height: Int, width: Int) {
  let rows = SamePadding(input: height, kernel: kernel, stride: stride)
  let columns = SamePadding(input: width, kernel: kernel, stride: stride)
  let patch = kernel * kernel * channels
  let unfolded = Tensor(zeros: [batch * rows.output * columns.output, patch])
  parallelChunks(batch * rows.output, minimumPerChunk: 8) { range in
    for item in range {
      let b = item / rows.output, oy = item % rows.output
      for ox in 0..<columns.output {
        var out = unfolded.data + ((b * rows.output + oy) * columns.output + ox) * patch
        for ky in 0..<kernel {
          let y = oy * stride + ky - rows.before
          for kx in 0..<kernel {
            let xx = ox * stride + kx - columns.before
            if y >= 0 && y < height && xx >= 0 && xx < width {
              out.update(from: x.data + ((b * height + y) * width + xx) * channels, count: channels)
            }  // else stays zero: the padding
            out += channels
          }
        }
      }
    }
  }
  let output = linear(unfolded, weight: weight, bias: bias)
  if activation == .relu6 { clampRelu6(output) }
  return (output, rows.output, columns.output)
}

/// PyTorch's [out, in, k, k] convolution weight as [out, k·k·in] in (row, column, channel) order.
public func reorderedConvolutionWeight(_ weight: Tensor) -> Tensor {
  let (out, inChannels, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
  let result = Tensor(zeros: [out, kh * kw * inChannels])
  for o in 0..<out {
    for c in 0..<inChannels {
      for y in 0..<kh {
        for x in 0..<kw {
          result.data[o * kh * kw * inChannels + (y * kw + x) * inChannels + c] = weight.data[((o * inChannels + c) * kh + y) * kw + x]
        }
      }
    }
  }
  return result
}

/// A depthwise k×k convolution (one filter per channel) with its bias and activation fused; `weight` is
/// [k·k, channels] (`depthwiseWeight` makes it from PyTorch's [channels, 1, k, k]), so the innermost loop runs
/// along contiguous channels and vectorises.
public func depthwiseConvolution(
  _ x: Tensor, batch: Int, height: Int, width: Int, channels: Int, weight: Tensor, bias: Tensor, kernel: Int, stride: Int,
  activation: ConvolutionActivation
) -> (output: Tensor, height: Int, width: Int) {
  let rows = SamePadding(input: height, kernel: kernel, stride: stride)
  let columns = SamePadding(input: width, kernel: kernel, stride: stride)
  let output = Tensor(zeros: [batch * rows.output * columns.output, channels])
  let relu6 = activation == .relu6
  parallelChunks(batch * rows.output, minimumPerChunk: 4) { range in
    for item in range {
      let b = item / rows.output, oy = item % rows.output
      for ox in 0..<columns.output {
        let out = output.data + ((b * rows.output + oy) * columns.output + ox) * channels
        out.update(from: bias.data, count: channels)
        for ky in 0..<kernel {
          let y = oy * stride + ky - rows.before
          guard y >= 0 && y < height else { continue }
          for kx in 0..<kernel {
            let xx = ox * stride + kx - columns.before
            guard xx >= 0 && xx < width else { continue }
            let input = x.data + ((b * height + y) * width + xx) * channels
            let w = weight.data + (ky * kernel + kx) * channels
            for c in 0..<channels { out[c] += input[c] * w[c] }
          }
        }
        if relu6 {
          for c in 0..<channels { out[c] = min(max(out[c], 0), 6) }
        }
      }
    }
  }
  return (output, rows.output, columns.output)
}

/// PyTorch's depthwise weight [channels, 1, k, k] as [k·k, channels].
public func depthwiseWeight(_ weight: Tensor) -> Tensor {
  let (channels, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3])
  let result = Tensor(zeros: [kh * kw, channels])
  for c in 0..<channels {
    for k in 0..<(kh * kw) { result.data[k * channels + c] = weight.data[c * kh * kw + k] }
  }
  return result
}

/// min(max(x, 0), 6) in place.
public func clampRelu6(_ x: Tensor) {
  parallelChunks(x.count, minimumPerChunk: 1 << 16) { range in
    for i in range { x.data[i] = min(max(x.data[i], 0), 6) }
  }
}

/// The mean over each image's pixels: [batch·pixels, channels] → [batch, channels].
public func averagePool(_ x: Tensor, batch: Int, pixels: Int, channels: Int) -> Tensor {
  let result = Tensor(zeros: [batch, channels])
  for b in 0..<batch {
    let out = result.data + b * channels
    for p in 0..<pixels {
      let row = x.data + (b * pixels + p) * channels
      for c in 0..<channels { out[c] += row[c] }
    }
    for c in 0..<channels { out[c] /= Float(pixels) }
  }
  return result
}
