import CKernels

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

/// A dense k×k convolution as one GEMM: patches unfolded (into `scratch`) as rows of (row, column, channel) and
/// multiplied by `weight` [out, k·k·in] in the same order (`reorderedConvolutionWeight` makes it from PyTorch's
/// layout), into `output` [batch·outHeight·outWidth, out].
public func convolution(
  _ x: Tensor, batch: Int, height: Int, width: Int, channels: Int, weight: Tensor, bias: Tensor, kernel: Int, stride: Int,
  activation: ConvolutionActivation, scratch: Workspace, slot: Int, into output: (_ outHeight: Int, _ outWidth: Int) -> Tensor
) -> (output: Tensor, height: Int, width: Int) {
  let rows = SamePadding(input: height, kernel: kernel, stride: stride)
  let columns = SamePadding(input: width, kernel: kernel, stride: stride)
  let patch = kernel * kernel * channels
  let unfolded = scratch.tensor(slot, [batch * rows.output * columns.output, patch])
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
            } else {
              out.update(repeating: 0, count: channels)  // the padding
            }
            out += channels
          }
        }
      }
    }
  }
  let result = output(rows.output, columns.output)
  linear(unfolded, weight: weight, bias: bias, into: result)
  if activation == .relu6 { clampRelu6(result) }
  return (result, rows.output, columns.output)
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

/// A depthwise k×k convolution (one filter per channel) with its bias and activation fused, into `output`
/// [batch·outHeight·outWidth, channels]. `weight` is [k·k, channels] (`depthwiseWeight` makes it from PyTorch's
/// [channels, 1, k, k]); the per-pixel work is a C kernel built for the machine's widest vectors.
public func depthwiseConvolution(
  _ x: Tensor, batch: Int, height: Int, width: Int, channels: Int, weight: Tensor, bias: Tensor, kernel: Int, stride: Int,
  activation: ConvolutionActivation, into output: (_ outHeight: Int, _ outWidth: Int) -> Tensor
) -> (output: Tensor, height: Int, width: Int) {
  let rows = SamePadding(input: height, kernel: kernel, stride: stride)
  let columns = SamePadding(input: width, kernel: kernel, stride: stride)
  let result = output(rows.output, columns.output)
  let relu6: Int32 = activation == .relu6 ? 1 : 0
  parallelChunks(batch * rows.output, minimumPerChunk: 2) { range in
    for item in range {
      let b = item / rows.output, oy = item % rows.output
      let top = oy * stride - rows.before
      let firstTap = max(0, -top), lastTap = min(kernel, height - top)
      for ox in 0..<columns.output {
        let left = ox * stride - columns.before
        let firstColumn = max(0, -left), lastColumn = min(kernel, width - left)
        // Tap (0, 0) of this pixel; it may lie in the padding, only the taps inside the image are read.
        let origin = x.data + ((b * height + top) * width + left) * channels
        chorus_depthwise_pixel(
          result.data + ((b * rows.output + oy) * columns.output + ox) * channels, bias.data, origin, width * channels, weight.data,
          Int32(kernel), Int32(firstTap), Int32(lastTap), Int32(firstColumn), Int32(lastColumn), Int32(channels), relu6)
      }
    }
  }
  return (result, rows.output, columns.output)
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
    chorus_relu6(x.data + range.lowerBound, range.count)
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
