import CKernels
import Foundation

/// Pillow's resampling filters (`PIL.Image.Resampling`), by the numbers transformers' configs use.
public enum ResampleFilter: Int, Sendable, CaseIterable {
  case lanczos = 1, bilinear = 2, bicubic = 3

  var support: Double {
    switch self {
    case .lanczos: 3
    case .bilinear: 1
    case .bicubic: 2
    }
  }

  func weight(_ x: Double) -> Double {
    switch self {
    case .bilinear:
      let x = abs(x)
      return x < 1 ? 1 - x : 0
    case .bicubic:
      let a = -0.5, x = abs(x)
      if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
      if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
      return 0
    case .lanczos:
      func sinc(_ x: Double) -> Double { x == 0 ? 1 : sin(x * .pi) / (x * .pi) }
      return -3 <= x && x < 3 ? sinc(x) * sinc(x / 3) : 0
    }
  }
}

/// Antialiased resizing equal to Pillow's `Image.resize` on 8-bit RGB: a separable convolution whose filter
/// widens with the scale, in 22-bit fixed point, horizontal pass first (only over the rows the vertical pass
/// reads), each pass rounded and clipped to 8 bits. Equality with Pillow, not just closeness, is the point:
/// models were trained on Pillow's pixels.
extension RGBImage {
  public func resized(width outWidth: Int, height outHeight: Int, filter: ResampleFilter) -> RGBImage {
    precondition(outWidth > 0 && outHeight > 0)
    let horizontal = Coefficients(inSize: width, outSize: outWidth, filter: filter)
    var vertical = Coefficients(inSize: height, outSize: outHeight, filter: filter)
    var image = self
    if outWidth != width {
      let first = vertical.bounds[0].start
      let last = vertical.bounds[outHeight - 1].start + vertical.bounds[outHeight - 1].count
      for index in vertical.bounds.indices { vertical.bounds[index].start -= first }
      image = image.resampledRows(first..<last, coefficients: horizontal, outWidth: outWidth)
    }
    if outHeight != height {
      image = image.resampledColumns(coefficients: vertical, outHeight: outHeight)
    }
    return image
  }

  private func resampledRows(_ rows: Range<Int>, coefficients c: Coefficients, outWidth: Int) -> RGBImage {
    var out = [UInt8](repeating: 0, count: outWidth * rows.count * 3)
    var scratch = [UInt8](repeating: 0, count: width * 3)
    let starts = c.bounds.map { Int32($0.start) }, counts = c.bounds.map { Int32($0.count) }
    pixels.withUnsafeBufferPointer { input in
      out.withUnsafeMutableBufferPointer { output in
        for (row, y) in rows.enumerated() {
          chorus_resample_row(
            input.baseAddress! + y * width * 3, Int32(width), output.baseAddress! + row * outWidth * 3, Int32(outWidth), starts, counts, c.weights,
            Int32(c.kernelSize), &scratch)
        }
      }
    }
    return RGBImage(width: outWidth, height: rows.count, pixels: out)
  }

  private func resampledColumns(coefficients c: Coefficients, outHeight: Int) -> RGBImage {
    let rowLength = width * 3
    var out = [UInt8](repeating: 0, count: rowLength * outHeight)
    var sums = [Int32](repeating: 0, count: rowLength)
    pixels.withUnsafeBufferPointer { input in
      out.withUnsafeMutableBufferPointer { output in
        c.weights.withUnsafeBufferPointer { weights in
          // Row by row over the source keeps the reads sequential; the sums equal Pillow's column-wise ones
          // (integer addition is exact).
          for y in 0..<outHeight {
            let (start, count) = c.bounds[y]
            chorus_resample_column(
              input.baseAddress! + start * rowLength, rowLength, Int32(count), weights.baseAddress! + y * c.kernelSize,
              output.baseAddress! + y * rowLength, &sums)
          }
        }
      }
    }
    return RGBImage(width: width, height: outHeight, pixels: out)
  }
}

/// Pillow's `precompute_coeffs` and `normalize_coeffs_8bpc`: per output pixel, the first source pixel, how many
/// are read, and their weights in fixed point.
struct Coefficients {
  /// Fixed-point fraction bits (Pillow's PRECISION_BITS); the C kernels round with 2²¹ and shift by 22.
  static let precisionBits: Int32 = 32 - 8 - 2

  var bounds: [(start: Int, count: Int)]
  let kernelSize: Int
  let weights: [Int32]

  init(inSize: Int, outSize: Int, filter: ResampleFilter) {
    let scale = Double(inSize) / Double(outSize)
    let filterScale = max(scale, 1)
    let support = filter.support * filterScale
    kernelSize = Int(support.rounded(.up)) * 2 + 1
    var bounds: [(start: Int, count: Int)] = []
    var weights = [Int32](repeating: 0, count: outSize * kernelSize)
    var kernel = [Double](repeating: 0, count: kernelSize)
    for out in 0..<outSize {
      let center = (Double(out) + 0.5) * scale
      let start = max(Int(center - support + 0.5), 0)
      let count = min(Int(center + support + 0.5), inSize) - start
      var total = 0.0
      let step = 1 / filterScale  // multiplied, not divided, as Pillow does: the last bit matters
      for i in 0..<count {
        kernel[i] = filter.weight((Double(i + start) - center + 0.5) * step)
        total += kernel[i]
      }
      for i in 0..<count {
        let w = total != 0 ? kernel[i] / total : kernel[i]
        let scaled = w * Double(1 << Self.precisionBits)
        weights[out * kernelSize + i] = Int32(w < 0 ? -0.5 + scaled : 0.5 + scaled)
      }
      bounds.append((start, count))
    }
    self.bounds = bounds
    self.weights = weights
  }

}
