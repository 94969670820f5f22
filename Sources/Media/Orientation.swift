extension RGBImage {
  /// The image turned upright for an EXIF orientation (1–8), as `PIL.ImageOps.exif_transpose` turns it.
  public func oriented(_ orientation: Int) -> RGBImage {
    guard (2...8).contains(orientation) else { return self }
    let swapsSides = orientation >= 5
    let outWidth = swapsSides ? height : width, outHeight = swapsSides ? width : height
    var out = [UInt8](repeating: 0, count: pixels.count)
    let w = width, h = height
    // For each output pixel, the source pixel: flips for 2–4, transposes and quarter turns for 5–8.
    let source: (Int, Int) -> (Int, Int) =
      switch orientation {
      case 2: { x, y in (w - 1 - x, y) }
      case 3: { x, y in (w - 1 - x, h - 1 - y) }
      case 4: { x, y in (x, h - 1 - y) }
      case 5: { x, y in (y, x) }
      case 6: { x, y in (y, h - 1 - x) }
      case 7: { x, y in (w - 1 - y, h - 1 - x) }
      default: { x, y in (w - 1 - y, x) }
      }
    pixels.withUnsafeBufferPointer { input in
      out.withUnsafeMutableBufferPointer { output in
        for y in 0..<outHeight {
          for x in 0..<outWidth {
            let (sx, sy) = source(x, y)
            let from = (sy * w + sx) * 3, to = (y * outWidth + x) * 3
            output[to] = input[from]
            output[to + 1] = input[from + 1]
            output[to + 2] = input[from + 2]
          }
        }
      }
    }
    return RGBImage(width: outWidth, height: outHeight, pixels: out)
  }
}
