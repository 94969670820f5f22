import Foundation

/// What a model directory's preprocessor_config.json asks of an image, done as transformers' PIL image processors
/// do it (`CLIPImageProcessorPil`, `ViTImageProcessorPil`, …): RGB, resize, centre crop, rescale, normalise, into a
/// channel-first Float32 array.
public struct ImagePreprocessor: Sendable {
  public enum Resize: Sendable, Equatable {
    /// The shorter side becomes this long, the longer keeps the aspect ratio (truncated, as Python's int()).
    case shortestEdge(Int)
    case exact(height: Int, width: Int)
  }

  public var resize: Resize?
  public var filter: ResampleFilter
  public var crop: (height: Int, width: Int)?
  public var rescaleFactor: Double?
  public var mean: [Float]?
  public var std: [Float]?

  /// The side lengths of every output when they do not depend on the input (a crop or an exact resize).
  public var outputSize: (height: Int, width: Int)? {
    if let crop { return crop }
    if case .exact(let height, let width) = resize { return (height, width) }
    return nil
  }

  /// Reads `preprocessor_config.json`; errors name the file and the key.
  public init(configFile url: URL) throws(PreprocessorConfigError) {
    guard let data = FileManager.default.contents(atPath: url.path) else {
      throw PreprocessorConfigError("\(url.path): missing or unreadable (an image encoder needs its preprocessor_config.json)")
    }
    guard let values = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
      throw PreprocessorConfigError("\(url.path): not a JSON object")
    }
    try self.init(values: values, origin: url.path)
  }

  /// The same from the file's parsed object; `origin` names it in errors.
  public init(values: [String: Any], origin: String) throws(PreprocessorConfigError) {
    func fail(_ key: String, _ why: String) -> PreprocessorConfigError { PreprocessorConfigError("\(origin): '\(key)' \(why)") }
    func flag(_ key: String, _ fallback: Bool) throws(PreprocessorConfigError) -> Bool {
      guard let value = values[key], !(value is NSNull) else { return fallback }
      guard let bool = value as? Bool else { throw fail(key, "is not true or false") }
      return bool
    }
    // The processor class sets the defaults and what a bare number means for "size": CLIP's processors read it
    // as the shortest edge, the others (ViT's) as a square.
    let type = (values["image_processor_type"] ?? values["feature_extractor_type"]) as? String ?? "CLIPImageProcessor"
    let family: Family
    if type.hasPrefix("CLIP") {
      family = .clip
    } else if type.hasPrefix("ViT") {
      family = .vit
    } else if type.hasPrefix("Siglip") && !type.hasPrefix("Siglip2") {
      family = .siglip
    } else {
      throw fail("image_processor_type", "'\(type)' is not supported (supported: CLIPImageProcessor, ViTImageProcessor, SiglipImageProcessor)")
    }
    func size(_ key: String, squareNumber: Bool) throws(PreprocessorConfigError) -> [String: Int]? {
      switch values[key] {
      case nil, is NSNull: return nil
      case let number as Int: return squareNumber ? ["height": number, "width": number] : ["shortest_edge": number]
      case let object as [String: Any]:
        var sides: [String: Int] = [:]
        for (name, value) in object {
          guard let side = value as? Int, side > 0 else { throw fail(key, "has a side '\(name)' that is not a positive integer") }
          sides[name] = side
        }
        return sides
      default: throw fail(key, "is neither a number nor an object")
      }
    }
    func channels(_ key: String, _ fallback: [Float]) throws(PreprocessorConfigError) -> [Float] {
      switch values[key] {
      case nil, is NSNull: return fallback
      case let number as Double: return Array(repeating: Float(number), count: 3)
      case let list as [Double] where list.count == 3: return list.map(Float.init)
      default: throw fail(key, "must be a number or a list of 3 numbers")
      }
    }

    if try flag("do_resize", true) {
      let sides = try size("size", squareNumber: family == .vit) ?? family.defaultSize
      if let shortest = sides["shortest_edge"] {
        guard sides["longest_edge"] == nil else { throw fail("size", "with both shortest_edge and longest_edge is not supported") }
        resize = .shortestEdge(shortest)
      } else if let height = sides["height"], let width = sides["width"] {
        resize = .exact(height: height, width: width)
      } else {
        throw fail("size", "needs shortest_edge, or height and width")
      }
    }
    let resample = values["resample"] as? Int ?? family.defaultFilter.rawValue
    guard let filter = ResampleFilter(rawValue: resample) else {
      throw fail("resample", "\(resample) is not supported (supported: 1 LANCZOS, 2 BILINEAR, 3 BICUBIC)")
    }
    self.filter = filter
    if try flag("do_center_crop", family == .clip) {
      let sides = try size("crop_size", squareNumber: true) ?? family.defaultCrop
      guard let height = sides["height"], let width = sides["width"] else {
        throw fail("crop_size", "needs height and width (do_center_crop is on)")
      }
      crop = (height, width)
    }
    if try flag("do_rescale", true) {
      let factor = values["rescale_factor"] ?? 1.0 / 255.0
      guard let factor = factor as? Double else { throw fail("rescale_factor", "is not a number") }
      rescaleFactor = factor
    }
    if try flag("do_normalize", true) {
      mean = try channels("image_mean", family.defaultMean)
      std = try channels("image_std", family.defaultStd)
      guard std!.allSatisfy({ $0 != 0 }) else { throw fail("image_std", "has a zero") }
    }
  }

  /// Pixels as the model takes them: [3, height, width], channel-first.
  public func pixels(_ image: RGBImage) -> [Float] {
    var image = image
    if let resize {
      let (height, width) = outputSize(resize, image)
      if height != image.height || width != image.width { image = image.resized(width: width, height: height, filter: filter) }
    }
    if let crop { image = image.centreCropped(height: crop.height, width: crop.width) }
    // Each 8-bit value maps to one Float per channel: rescale in Double then to Float32, as transformers' rescale
    // does; normalise in Float32, as its normalize does.
    let tables = (0..<3).map { channel in
      (0..<256).map { value -> Float in
        var x = rescaleFactor.map { Float(Double(value) * $0) } ?? Float(value)
        if let mean, let std { x = (x - mean[channel]) / std[channel] }
        return x
      }
    }
    let plane = image.width * image.height
    var out = [Float](repeating: 0, count: 3 * plane)
    image.pixels.withUnsafeBufferPointer { input in
      out.withUnsafeMutableBufferPointer { output in
        for channel in 0..<3 {
          let table = tables[channel]
          for index in 0..<plane { output[channel * plane + index] = table[Int(input[index * 3 + channel])] }
        }
      }
    }
    return out
  }

  /// The processor classes whose defaults Chorus knows (transformers' class attributes).
  enum Family {
    /// SigLIP: a square resize to `size` (bicubic), no crop, mean and std 0.5, as ViT's but for the filter.
    case clip, vit, siglip

    var defaultSize: [String: Int] { self == .clip ? ["shortest_edge": 224] : ["height": 224, "width": 224] }
    var defaultCrop: [String: Int] { ["height": 224, "width": 224] }
    var defaultFilter: ResampleFilter { self == .vit ? .bilinear : .bicubic }
    var defaultMean: [Float] { self == .clip ? [0.48145466, 0.4578275, 0.40821073] : [0.5, 0.5, 0.5] }
    var defaultStd: [Float] { self == .clip ? [0.26862954, 0.26130258, 0.27577711] : [0.5, 0.5, 0.5] }
  }

  private func outputSize(_ resize: Resize, _ image: RGBImage) -> (height: Int, width: Int) {
    switch resize {
    case .exact(let height, let width):
      return (height, width)
    case .shortestEdge(let side):
      // transformers' get_resize_output_image_size(default_to_square=False).
      let short = min(image.width, image.height), long = max(image.width, image.height)
      let newLong = Int(Double(side) * Double(long) / Double(short))
      return image.width <= image.height ? (newLong, side) : (side, newLong)
    }
  }
}

public struct PreprocessorConfigError: Error, Sendable, CustomStringConvertible {
  public var description: String
  init(_ description: String) { self.description = description }
}

extension RGBImage {
  /// transformers' `center_crop`: the centred window, zero-padded where the image is smaller than the crop.
  public func centreCropped(height cropHeight: Int, width cropWidth: Int) -> RGBImage {
    if cropHeight == height && cropWidth == width { return self }
    // Offsets of the crop's top-left corner in the (possibly padded) canvas, as Python floors them.
    let padTop = max(0, (cropHeight - height + 1) / 2), padLeft = max(0, (cropWidth - width + 1) / 2)
    let top = Int((Double(height - cropHeight) / 2).rounded(.down)) + padTop
    let left = Int((Double(width - cropWidth) / 2).rounded(.down)) + padLeft
    var out = [UInt8](repeating: 0, count: cropHeight * cropWidth * 3)
    for y in 0..<cropHeight {
      let sy = top + y - padTop
      guard sy >= 0 && sy < height else { continue }
      for x in 0..<cropWidth {
        let sx = left + x - padLeft
        guard sx >= 0 && sx < width else { continue }
        for c in 0..<3 { out[(y * cropWidth + x) * 3 + c] = pixels[(sy * width + sx) * 3 + c] }
      }
    }
    return RGBImage(width: cropWidth, height: cropHeight, pixels: out)
  }
}
