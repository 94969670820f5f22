import XCTest

@testable import Tensor

/// The convolution kernels against their definition: TensorFlow "SAME" padding, channels-last.
final class ConvolutionTests: XCTestCase {
  func random(_ count: Int, _ generator: inout SystemRandomNumberGenerator) -> [Float] {
    (0..<count).map { _ in Float.random(in: -1...1, using: &generator) }
  }

  /// out[b, oy, ox, o] = bias[o] + Σ x[b, oy·s + ky − before, ox·s + kx − before, c] · w[o, c, ky, kx] (zero outside).
  func definition(
    _ x: [Float], batch: Int, height: Int, width: Int, channels: Int, weight: [Float], outChannels: Int, bias: [Float], kernel: Int, stride: Int,
    depthwise: Bool
  ) -> [Float] {
    let rows = SamePadding(input: height, kernel: kernel, stride: stride), columns = SamePadding(input: width, kernel: kernel, stride: stride)
    var out = [Float](repeating: 0, count: batch * rows.output * columns.output * outChannels)
    for b in 0..<batch {
      for oy in 0..<rows.output {
        for ox in 0..<columns.output {
          for o in 0..<outChannels {
            var sum = bias[o]
            for ky in 0..<kernel {
              for kx in 0..<kernel {
                let y = oy * stride + ky - rows.before, xx = ox * stride + kx - columns.before
                guard y >= 0, y < height, xx >= 0, xx < width else { continue }
                if depthwise {
                  sum += x[((b * height + y) * width + xx) * channels + o] * weight[(o * kernel + ky) * kernel + kx]
                } else {
                  for c in 0..<channels { sum += x[((b * height + y) * width + xx) * channels + c] * weight[((o * channels + c) * kernel + ky) * kernel + kx] }
                }
              }
            }
            out[((b * rows.output + oy) * columns.output + ox) * outChannels + o] = min(max(sum, 0), 6)
          }
        }
      }
    }
    return out
  }

  func testSamePaddingIsTensorFlows() {
    for (input, kernel, stride, output, before) in [(224, 3, 2, 112, 0), (56, 5, 2, 28, 1), (14, 5, 1, 14, 2), (7, 3, 1, 7, 1)] {
      let padding = SamePadding(input: input, kernel: kernel, stride: stride)
      XCTAssertEqual([padding.output, padding.before], [output, before], "\(input) k\(kernel) s\(stride)")
    }
  }

  func testDepthwiseMatchesDefinition() {
    var generator = SystemRandomNumberGenerator()
    // 75 channels: a block of 32, then blocks of 8, then single channels.
    for (kernel, stride, channels) in [(3, 1, 20), (3, 2, 32), (5, 2, 7), (5, 1, 48), (3, 1, 75)] {
      let (batch, height, width) = (2, 9, 7)
      let x = random(batch * height * width * channels, &generator), w = random(channels * kernel * kernel, &generator)
      let bias = random(channels, &generator)
      let expected = definition(
        x, batch: batch, height: height, width: width, channels: channels, weight: w, outChannels: channels, bias: bias, kernel: kernel, stride: stride,
        depthwise: true)
      let weight = depthwiseWeight(Tensor(shape: [channels, 1, kernel, kernel], values: w))
      let (out, _, _) = depthwiseConvolution(
        Tensor(shape: [batch * height * width, channels], values: x), batch: batch, height: height, width: width, channels: channels, weight: weight,
        bias: Tensor(shape: [channels], values: bias), kernel: kernel, stride: stride, activation: .relu6
      ) { h, w in Tensor(zeros: [batch * h * w, channels]) }
      XCTAssertEqual(out.count, expected.count)
      XCTAssertLessThan(zip(out.array, expected).map { abs($0 - $1) }.max()!, 1e-5, "k\(kernel) s\(stride) c\(channels)")
    }
  }

  func testDenseConvolutionMatchesDefinition() {
    var generator = SystemRandomNumberGenerator()
    let (batch, height, width, channels, outChannels, kernel) = (2, 11, 8, 3, 12, 3)
    let x = random(batch * height * width * channels, &generator), w = random(outChannels * channels * kernel * kernel, &generator)
    let bias = random(outChannels, &generator)
    let expected = definition(
      x, batch: batch, height: height, width: width, channels: channels, weight: w, outChannels: outChannels, bias: bias, kernel: kernel, stride: 2,
      depthwise: false)
    let workspace = Workspace()
    // A dirty scratch buffer: the unfolding must write the padding's zeros itself.
    workspace.tensor(0, [4096]).buffer.initialize(repeating: .nan)
    let (out, outHeight, outWidth) = convolution(
      Tensor(shape: [batch * height * width, channels], values: x), batch: batch, height: height, width: width, channels: channels,
      weight: reorderedConvolutionWeight(Tensor(shape: [outChannels, channels, kernel, kernel], values: w)), bias: Tensor(shape: [outChannels], values: bias),
      kernel: kernel, stride: 2, activation: .relu6, scratch: workspace, slot: 0
    ) { h, w in Tensor(zeros: [batch * h * w, outChannels]) }
    XCTAssertEqual([outHeight, outWidth], [6, 4])
    XCTAssertLessThan(zip(out.array, expected).map { abs($0 - $1) }.max()!, 1e-5)
  }
}
