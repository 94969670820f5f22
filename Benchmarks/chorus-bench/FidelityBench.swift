import Encoders
import Engine
import Foundation
import Logging
import Media
import Tensor

/// `chorus-bench fidelity`: what bf16 and int8 (`--precision`) cost in quality, per served architecture, on real
/// inputs: cosine of each input's vector to its fp32 vector through the engine (the daemon's path: decoding,
/// preprocessing, pooling, heads), EfficientNet-Lite0's top-1 agreement on real photos, and retrieval: recall@10 of
/// int8/bf16 search against fp32 search over Debian package descriptions. Real weights where they reach this
/// machine (MiniLM, EfficientNet-Lite0, Whisper base); random or synthetic weights of the real shapes otherwise.
enum FidelityBench {
  struct Case {
    let name: String
    let directory: String
    let texts: Int
    let images: Bool
    let audio: Bool
  }

  static let precisions = [Precision.bf16, .int8].filter { $0.unsupportedReason == nil }

  static func run(root: URL) async throws {
    let descriptions = SearchBench.descriptions(limit: 6_200)
    let photos = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("Tests/Data/skimage").path).sorted()
      .filter { $0.hasSuffix(".png") || $0.hasSuffix(".jpg") }
      .map { try Data(contentsOf: root.appendingPathComponent("Tests/Data/skimage/" + $0)) }
    let clips = try spokenAndRecordedClips(root: root, sentences: Array(descriptions.suffix(8)))
    print("precisions on this CPU: fp32, \(precisions.map(\.rawValue).joined(separator: ", ")); int8 weights keep \(Precision.int8WeightBits) bits")
    print("inputs: \(descriptions.count) Debian package descriptions, \(photos.count) scikit-image photos, \(clips.count) clips (recorded fixtures + package descriptions spoken by espeak-ng in 4 voices)")

    let models = root.appendingPathComponent("Models").path, synthetic = root.appendingPathComponent(".build/synthetic-checkpoints").path
    let found = (try? FileManager.default.contentsOfDirectory(atPath: synthetic))?.sorted() ?? []
    func syntheticCase(_ prefix: String, _ name: String, texts: Int, images: Bool = false, audio: Bool = false) -> Case? {
      found.first { $0.hasPrefix(prefix + "-") }.map { Case(name: name, directory: synthetic + "/" + $0, texts: texts, images: images, audio: audio) }
    }
    var cases: [Case] = [
      Case(name: "all-MiniLM-L6-v2 (bert, real weights)", directory: models + "/all-MiniLM-L6-v2", texts: 1_000, images: false, audio: false),
      Case(name: "Whisper base encoder + projection (real weights)", directory: models + "/whisper-base-encoder", texts: 0, images: false, audio: true),
    ]
    let clip = FileManager.default.temporaryDirectory.appendingPathComponent("chorus-bench-clip-b32").path
    if FileManager.default.fileExists(atPath: clip + "/model.safetensors") {
      cases.append(Case(name: "CLIP ViT-B/32 (random weights)", directory: clip, texts: 200, images: true, audio: false))
    } else {
      print("CLIP ViT-B/32: not measured; `chorus-bench vision --python …` writes its random checkpoint first")
    }
    let ast = AudioBench.work + "/ast-base"
    if FileManager.default.fileExists(atPath: ast + "/model.safetensors") {
      cases.append(Case(name: "AST base (random weights)", directory: ast, texts: 0, images: false, audio: true))
    }
    cases += [
      syntheticCase("siglip-base", "SigLIP base/16 (synthetic weights)", texts: 200, images: true),
      syntheticCase("clap-htsat-unfused", "CLAP HTS-AT unfused (synthetic weights)", texts: 200, audio: true),
      syntheticCase("clap-larger-fused", "CLAP larger, fused (synthetic weights)", texts: 0, audio: true),
      syntheticCase("xlm-roberta-base", "XLM-RoBERTa base (synthetic weights)", texts: 200),
      syntheticCase("mpnet-base", "MPNet base (synthetic weights)", texts: 200),
      syntheticCase("modernbert-base", "ModernBERT base (synthetic weights)", texts: 200),
      syntheticCase("qwen3-0.6b", "Qwen3-Embedding-0.6B shape (synthetic weights)", texts: 100),
    ].compactMap { $0 }

    for model in cases where option("--only").map({ model.directory.contains($0) }) ?? true {
      print("\n\(model.name)")
      var built: [Precision: Engine] = [:]
      for precision in [Precision.fp32] + precisions { built[precision] = try engine(model.directory, precision) }
      var inputs: [(String, [EmbedInput])] = []
      if model.texts > 0 { inputs.append(("text", descriptions.prefix(model.texts).map { .text($0) })) }
      if model.images { inputs.append(("image", photos.map { .image($0) })) }
      if model.audio { inputs.append(("audio", clips.map { .audio($0) })) }
      for (modality, items) in inputs {
        let reference = try await vectors(built[.fp32]!, items)
        var line = "  \(modality), \(items.count) inputs:"
        for precision in precisions {
          let cosines = zip(try await vectors(built[precision]!, items), reference).map { Double(cosineSimilarity($0, $1)) }
          line += String(format: " %@ mean cosine %.5f, worst %.5f;", precision.rawValue, cosines.reduce(0, +) / Double(cosines.count), cosines.min() ?? 0)
        }
        print(line)
      }
      if model.directory.hasSuffix("all-MiniLM-L6-v2") { try await retrieval(built, descriptions) }
    }
    try efficientNetAgreement(root: root, photos: photos)
  }

  static func engine(_ directory: String, _ precision: Precision) throws -> Engine {
    try Engine(spaces: ["m": [directory]], precisions: ["m": precision], logger: Logger(label: "fidelity", factory: { _ in SwiftLogNoOpLogHandler() }))
  }

  static func vectors(_ engine: Engine, _ items: [EmbedInput]) async throws -> [[Float]] {
    var all: [[Float]] = []
    for start in stride(from: 0, to: items.count, by: 32) {
      let (_, results) = try await engine.embed(space: "m", inputs: Array(items[start..<min(start + 32, items.count)]), options: EmbedOptions())
      all += try results.map { try $0.get().vector }
    }
    return all
  }

  /// Search with lower-precision vectors (queries and corpus both) against search with fp32 vectors: the share of
  /// fp32's 10 nearest descriptions that the lower precision also returns, over 200 held-out queries.
  static func retrieval(_ engines: [Precision: Engine], _ descriptions: [String]) async throws {
    let corpus = descriptions.prefix(6_000).map { EmbedInput.text($0) }, queries = descriptions.suffix(200).map { EmbedInput.text($0) }
    func nearest(_ engine: Engine) async throws -> [Set<Int>] {
      let base = try await vectors(engine, corpus), asked = try await vectors(engine, queries)
      return asked.map { query in
        let scores = base.map { zip(query, $0).reduce(Float(0)) { $0 + $1.0 * $1.1 } }
        return Set(scores.indices.sorted { scores[$0] > scores[$1] }.prefix(10))
      }
    }
    let truth = try await nearest(engines[.fp32]!)
    var line = "  retrieval, \(queries.count) queries over \(corpus.count) descriptions, recall@10 of fp32's top 10:"
    for precision in precisions {
      let found = try await nearest(engines[precision]!)
      let recall = zip(found, truth).map { Double($0.intersection($1).count) / 10 }.reduce(0, +) / Double(truth.count)
      line += String(format: " %@ %.4f;", precision.rawValue, recall)
    }
    print(line)
  }

  /// EfficientNet-Lite0's own output (ImageNet logits, before the ConSE head): cosine and top-1 class agreement.
  static func efficientNetAgreement(root: URL, photos: [Data]) throws {
    let directory = root.appendingPathComponent("Models/efficientnet-lite0")
    let preprocessor = try ImagePreprocessor(configFile: directory.appendingPathComponent("preprocessor_config.json"))
    let decoder = ImageDecoder()
    let reference = try ModelDirectory.load(directory.path).image!
    let size = reference.imageSize
    let pixels = Tensor(shape: [photos.count, 3, size, size], values: try photos.flatMap { preprocessor.pixels(try decoder.decode($0)) })
    let logits = reference.embed(pixels: pixels)
    func top1(_ row: [Float]) -> Int { row.indices.max { row[$0] < row[$1] }! }
    var line = "\nEfficientNet-Lite0 logits (real weights), \(photos.count) photos:"
    for precision in precisions {
      let lower = try ModelDirectory.load(directory.path, precision: precision).image!.embed(pixels: pixels)
      let cosines = zip(lower, logits).map { Double(cosineSimilarity($0, $1)) }
      let agree = zip(lower, logits).filter { top1($0) == top1($1) }.count
      line += String(format: " %@ mean cosine %.5f, worst %.5f, top-1 agreement %d/%d;", precision.rawValue, cosines.reduce(0, +) / Double(cosines.count), cosines.min() ?? 0, agree, photos.count)
    }
    print(line)
  }

  /// The recorded fixture clips, and `sentences` spoken by espeak-ng in four voices (WAV, 22.05 kHz).
  static func spokenAndRecordedClips(root: URL, sentences: [String]) throws -> [Data] {
    let fixtures = root.appendingPathComponent("Tests/MediaTests/Fixtures/audio")
    var clips = try ["speech.wav", "speech.opus", "chord-stereo-44k.flac", "noise-48k.ogg", "sweep.mp3"].map { try Data(contentsOf: fixtures.appendingPathComponent($0)) }
    let work = FileManager.default.temporaryDirectory.appendingPathComponent("chorus-bench-fidelity")
    try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    for (index, sentence) in sentences.enumerated() {
      for voice in ["en-us", "en-gb", "en+f3", "en-us+m4"] {
        let file = work.appendingPathComponent("\(index)-\(voice).wav")
        let speak = Process()
        speak.executableURL = URL(fileURLWithPath: "/usr/bin/espeak-ng")
        speak.arguments = ["-v", voice, "-w", file.path, sentence]
        try speak.run()
        speak.waitUntilExit()
        if speak.terminationStatus == 0 { clips.append(try Data(contentsOf: file)) }
      }
    }
    return clips
  }
}
