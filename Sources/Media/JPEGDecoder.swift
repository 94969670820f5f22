import CTurboJPEG
import Foundation

/// JPEG → RGB through libjpeg-turbo's TurboJPEG API, with the settings Pillow's decoder uses (accurate integer
/// DCT, smooth upsampling), so pixels match the reference's.
enum JPEGDecoder {
  struct Decoded {
    var image: RGBImage
    var orientation: Int
  }

  static func decode(_ data: Data, maxPixels: Int) throws(MediaDecodeError) -> Decoded {
    guard let handle = tjInitDecompress() else { throw MediaDecodeError(.invalid, "JPEG decoder could not start") }
    defer { tjDestroy(handle) }
    let result: Result<Decoded, MediaDecodeError> = data.withUnsafeBytes { bytes in
      let source = bytes.bindMemory(to: UInt8.self).baseAddress!
      let size = UInt(bytes.count)
      var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
      guard tjDecompressHeader3(handle, source, size, &width, &height, &subsampling, &colorspace) == 0 else {
        return .failure(failure(handle, "cannot read the JPEG header"))
      }
      if width <= 0 || height <= 0 { return .failure(MediaDecodeError(.invalid, "cannot read the JPEG header: it states no image size (truncated or not a JPEG)")) }
      if let error = checkSize(width: Int(width), height: Int(height), maxPixels: maxPixels) { return .failure(error) }
      let w = Int(width), h = Int(height)
      let cmyk = colorspace == Int32(TJCS_CMYK.rawValue) || colorspace == Int32(TJCS_YCCK.rawValue)
      let channels = cmyk ? 4 : 3
      var decoded = [UInt8](repeating: 0, count: w * h * channels)
      let status = decoded.withUnsafeMutableBufferPointer { out in
        tjDecompress2(
          handle, source, size, out.baseAddress, width, 0, height, Int32((cmyk ? TJPF_CMYK : TJPF_RGB).rawValue), 0)
      }
      // A warning (e.g. a truncated file) is a failure too: Pillow refuses such files ("image file is truncated").
      guard status == 0 else { return .failure(failure(handle, "the JPEG data is corrupt or truncated")) }
      let pixels = cmyk ? cmykToRGB(decoded) : decoded
      return .success(Decoded(image: RGBImage(width: w, height: h, pixels: pixels), orientation: JPEGMarkers.exifOrientation(bytes)))
    }
    return try result.get()
  }

  /// Pillow reads CMYK JPEGs as inverted ("CMYK;I", Adobe's convention) and converts with
  /// R = (255 − K′) − (C′·(255 − K′))/255 in its rounded integer form, where C′ = 255 − stored.
  private static func cmykToRGB(_ cmyk: [UInt8]) -> [UInt8] {
    let count = cmyk.count / 4
    var rgb = [UInt8](repeating: 0, count: count * 3)
    for index in 0..<count {
      let k = 255 - Int(cmyk[4 * index + 3])
      let nk = 255 - k
      for channel in 0..<3 {
        let c = 255 - Int(cmyk[4 * index + channel])
        let product = c * nk + 128
        let scaled = ((product >> 8) + product) >> 8
        rgb[3 * index + channel] = UInt8(clamping: nk - scaled)
      }
    }
    return rgb
  }

  private static func failure(_ handle: tjhandle, _ context: String) -> MediaDecodeError {
    let detail = String(cString: tjGetErrorStr2(handle))
    return MediaDecodeError(.invalid, "\(context): \(detail)")
  }
}

/// The pixel limit, checked from the header before any pixel memory is allocated.
func checkSize(width: Int, height: Int, maxPixels: Int) -> MediaDecodeError? {
  if width <= 0 || height <= 0 { return MediaDecodeError(.invalid, "the image has no pixels (\(width)x\(height))") }
  if width * height > maxPixels {
    return MediaDecodeError(.overLimit, "the image is \(width)x\(height) = \(width * height) pixels, over the limit of \(maxPixels) (max_image_pixels)")
  }
  return nil
}
