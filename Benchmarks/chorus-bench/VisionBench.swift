import Encoders
import Foundation
import Media
import Tensor

/// `chorus-bench vision`: the image networks beside PyTorch and ONNX Runtime on the same weights and pixels
/// (model only), then the whole path from image files (decode + preprocess + network).
enum VisionBench {
  struct Model {
    let name: String
    let kind: String  // bench-reference.py's MODEL
    let directory: String
    let encoder: any ImageEncoder
  }

  static func run() throws {
    let clipDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("chorus-bench-clip-b32").path
    if !FileManager.default.fileExists(atPath: clipDirectory + "/model.safetensors") {
      _ = runReference(["make-clip-b32", clipDirectory, root.appendingPathComponent("Models/clip-bpe").path])
    }
    let effnet = root.appendingPathComponent("Models/efficientnet-lite0")
    var models = [
      Model(
        name: "EfficientNet-Lite0 (real weights, logits)", kind: "effnet", directory: effnet.path,
        encoder: try EfficientNetLiteClassifier(
          config: ModelConfig(directory: effnet), checkpoint: SafeTensorsFile(path: effnet.appendingPathComponent("model.safetensors").path)))
    ]
    if FileManager.default.fileExists(atPath: clipDirectory + "/model.safetensors") {
      // openai/clip-vit-base-patch32's published preprocessing, for the end-to-end figures.
      let clipPreprocessing = """
        {"crop_size": 224, "do_center_crop": true, "do_normalize": true, "do_resize": true, "feature_extractor_type": "CLIPFeatureExtractor",
         "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711], "resample": 3, "size": 224}
        """
      try clipPreprocessing.write(toFile: clipDirectory + "/preprocessor_config.json", atomically: true, encoding: .utf8)
      let clip = URL(fileURLWithPath: clipDirectory)
      models.insert(
        Model(
          name: "CLIP ViT-B/32 vision tower (random weights, real shape)", kind: "clip", directory: clipDirectory,
          encoder: try CLIPVisionEncoder(config: ModelConfig(directory: clip), checkpoint: SafeTensorsFile(path: clip.appendingPathComponent("model.safetensors").path))),
        at: 0)
    } else {
      print("CLIP ViT-B/32 skipped: its random checkpoint is made by the reference; pass --python VENV/bin/python (a venv with torch and transformers)")
    }
    // SigLIP base (siglip-base-patch16-224's shape and preprocessing) on the synthetic weights the parity tests write.
    let synthetic = root.appendingPathComponent(".build/synthetic-checkpoints")
    if let found = (try? FileManager.default.contentsOfDirectory(atPath: synthetic.path))?.sorted().first(where: { $0.hasPrefix("siglip-base-") }) {
      let directory = synthetic.appendingPathComponent(found)
      models.append(
        Model(
          name: "SigLIP base/16 vision tower (synthetic weights, real shape)", kind: "siglip", directory: directory.path,
          encoder: try SiglipVisionEncoder(
            config: ModelConfig(directory: directory), checkpoint: SafeTensorsFile(path: directory.appendingPathComponent("model.safetensors").path))))
    } else {
      print("SigLIP skipped: `swift test --filter SiglipParityTests` writes its checkpoint first")
    }
    let photos = try photoFiles()
    for model in models where option("--model").map({ $0 == model.kind }) ?? true {
      print("\(model.name), \(seconds) s per figure")
      try modelOnly(model)
      try endToEnd(model, files: photos)
    }
  }

  static func modelOnly(_ model: Model) throws {
    let size = model.encoder.imageSize
    var generator = SystemRandomNumberGenerator()
    let pixels = Tensor(shape: [16, 3, size, size], values: (0..<16 * 3 * size * size).map { _ in Float.random(in: -2...2, using: &generator) })
    let pixelsFile = FileManager.default.temporaryDirectory.appendingPathComponent("chorus-bench-pixels-\(model.kind).f32")
    try! Data(buffer: pixels.buffer).write(to: pixelsFile)
    func input(_ batch: Int) -> Tensor { Tensor(shape: [batch, 3, size, size], values: Array(pixels.buffer.prefix(batch * 3 * size * size))) }
    var pytorch: [Int: Double] = [:]
    var firsts: [Int: [Float]] = [:]
    for batch in [1, 16] {
      let first = model.encoder.embed(pixels: input(batch))[0]
      firsts[batch] = first
      let ours = measure(batch: batch) { _ = model.encoder.embed(pixels: input(batch)) }
      var line = "  model only, batch \(batch): chorus \(String(format: "%.1f", ours)) images/s"
      for runtime in ["torch", "ort"] {
        guard let reference = runReference(["vision", model.kind, runtime, model.directory, "\(batch)", "\(seconds)", pixelsFile.path]),
          let theirs = reference["images_per_second"] as? Double, let output = reference["first"] as? [Double]
        else { continue }
        if runtime == "torch" { pytorch[batch] = theirs }
        let difference = zip(first, output).map { abs(Double($0) - $1) }.max() ?? 0
        line += ", \(runtime == "torch" ? "pytorch" : "onnxruntime") \(String(format: "%.1f", theirs)) (chorus \(String(format: "%.2f", ours / theirs))×, max-abs \(String(format: "%.1e", difference)))"
      }
      print(line)
    }
    // bf16 and int8 (--precision) beside PyTorch fp32 and ONNX Runtime's quantize_dynamic int8; each side's output
    // for the first image compared with fp32's by cosine (on these noise pixels; real photos: `chorus-bench fidelity`).
    guard !lowerPrecisions.isEmpty else { return }
    for precision in lowerPrecisions {
      if let reason = precision.unsupportedReason {
        print("  \(precision): not on this CPU (\(reason))")
        continue
      }
      let lower = try ModelDirectory.load(model.directory, precision: precision).image!
      for batch in [1, 16] {
        let first = lower.embed(pixels: input(batch))[0]
        let ours = measure(batch: batch) { _ = lower.embed(pixels: input(batch)) }
        var line = "  model only \(precision), batch \(batch): chorus \(String(format: "%.1f", ours)) images/s (cosine to fp32 \(String(format: "%.5f", cosineSimilarity(first, firsts[batch]!))))"
        if let theirs = pytorch[batch] { line += ", pytorch fp32 \(String(format: "%.1f", theirs)) (chorus \(String(format: "%.2f", ours / theirs))×)" }
        if precision == .int8, let reference = runReference(["vision", model.kind, "ort-int8", model.directory, "\(batch)", "\(seconds)", pixelsFile.path]),
          let theirs = reference["images_per_second"] as? Double, let output = reference["first"] as? [Double]
        {
          line += ", onnxruntime int8 \(String(format: "%.1f", theirs)) (chorus \(String(format: "%.2f", ours / theirs))×, its cosine to fp32 \(String(format: "%.5f", cosineSimilarity(output.map(Float.init), firsts[batch]!))))"
        }
        print(line)
      }
    }
  }

  /// Decode + preprocess on both cores (as the daemon does, one image per worker), then the network on the batch.
  static func endToEnd(_ model: Model, files: [URL]) throws {
    let decoder = ImageDecoder()
    let preprocessor = try ImagePreprocessor(configFile: URL(fileURLWithPath: model.directory).appendingPathComponent("preprocessor_config.json"))
    let contents = try files.map { try Data(contentsOf: $0) }
    let size = model.encoder.imageSize, plane = 3 * size * size
    var preprocessing = 0.0, total = 0.0
    let rate = measure(batch: files.count) {
      let started = Date()
      let pixels = Tensor(zeros: [files.count, 3, size, size])
      DispatchQueue.concurrentPerform(iterations: files.count) { index in
        let values = preprocessor.pixels(try! decoder.decode(contents[index]))
        values.withUnsafeBufferPointer { (pixels.data + index * plane).update(from: $0.baseAddress!, count: plane) }
      }
      let decoded = Date()
      _ = model.encoder.embed(pixels: pixels)
      preprocessing += decoded.timeIntervalSince(started)
      total += Date().timeIntervalSince(started)
    }
    var line = "  end to end, \(files.count) real photos (\(files.map(\.pathExtension).sorted().joined(separator: " ")) from the scikit-image wheel): chorus \(String(format: "%.1f", rate)) images/s, decode+preprocess \(String(format: "%.0f", 100 * preprocessing / total)) % of the time"
    if let reference = runReference(["vision-end-to-end", model.kind, model.directory, "\(seconds)"] + files.map(\.path)),
      let theirs = reference["images_per_second"] as? Double
    {
      line += ", transformers + pytorch \(String(format: "%.1f", theirs)) images/s (chorus \(String(format: "%.2f", rate / theirs))×)"
    }
    print(line)
  }

  /// The photos of the Media parity fixtures (scripts/fetch-test-data), 16 of them (the first three twice).
  static func photoFiles() throws -> [URL] {
    let fixture = try JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent("Tests/MediaTests/Fixtures/photos.json"))) as! [String: Any]
    let names = fixture["photos"] as! [String]
    return (names + names.prefix(16 - names.count)).map { root.appendingPathComponent("Tests/Data/skimage/\($0)") }
  }

  static func measure(batch: Int, _ body: () -> Void) -> Double {
    for _ in 0..<2 { body() }
    var done = 0
    let start = Date()
    while Date().timeIntervalSince(start) < seconds {
      body()
      done += batch
    }
    return Double(done) / Date().timeIntervalSince(start)
  }
}
