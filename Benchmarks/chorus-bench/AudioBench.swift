import Encoders
import Foundation
import Media
import Tensor

/// `chorus-bench audio`: 10-second clips/s of the Whisper-base and AST-base encoder shapes (random weights written
/// by the reference) and of CLAP's audio towers (HTS-AT tiny and base with fusion, the synthetic checkpoints the
/// parity tests write), model only and decode + resample + features + encode from a 44.1 kHz stereo FLAC, beside
/// PyTorch on the same weights and samples in the same run.
enum AudioBench {
  static let work = FileManager.default.temporaryDirectory.appendingPathComponent("chorus-bench-audio").path

  static func run(root: URL, option: (String) -> String?) throws {
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    let clip = work + "/clip-10s-44k-stereo.flac"
    if !FileManager.default.fileExists(atPath: clip) {
      let sox = Process()
      sox.executableURL = URL(fileURLWithPath: "/usr/bin/sox")
      sox.arguments = ["-n", "-r", "44100", "-c", "2", clip, "synth", "10", "sine", "220-1760", "sine", "330-990", "vol", "0.3"]
      try sox.run()
      sox.waitUntilExit()
    }
    let data = try Data(contentsOf: URL(fileURLWithPath: clip))
    print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores; \(seconds) s per figure; clip: 10 s, 44.1 kHz stereo FLAC")
    let batches = (option("--batches") ?? "1,4").split(separator: ",").compactMap { Int($0) }
    let synthetic = root.appendingPathComponent(".build/synthetic-checkpoints").path
    let found = (try? FileManager.default.contentsOfDirectory(atPath: synthetic))?.sorted() ?? []
    var models = ["whisper-base", "ast-base"].map { ($0, work + "/" + $0) }
    for name in ["clap-htsat-unfused", "clap-larger-fused"] {
      if let directory = found.first(where: { $0.hasPrefix(name + "-") }) {
        models.append((name, synthetic + "/" + directory))
      } else {
        print("\(name): not measured; `swift test --filter ClapParityTests` writes its checkpoint first")
      }
    }
    for (model, directory) in models where option("--only") == nil || option("--only") == model {
      if !FileManager.default.fileExists(atPath: directory + "/model.safetensors") {
        guard runReference(["make-audio", model, directory]) != nil else {
          print("\(model): no reference Python to write the weights (--python)")
          continue
        }
      }
      let loaded = try ModelDirectory.load(directory)
      let encoder = loaded.audio!
      let frontEnd = try AudioFrontEnds.load(configFile: URL(fileURLWithPath: directory + "/preprocessor_config.json"), fallback: model.hasPrefix("whisper") ? "whisper" : "ast")
      let rate = frontEnd.samplingRate
      let samples = try AudioReader(data, targetRate: rate, maxSeconds: 60).readAll()
      let samplesFile = work + "/clip-\(rate).f32"
      try samples.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: samplesFile)) }
      print("\n\(model) (\(encoder.architecture), \(encoder.dimension)-d)")
      let features = frontEnd.features(samples[...])
      let ours = l2Normalized(encoder.embed(features: [features], samples: [samples.count])[0])
      for batch in batches {
        let modelOnly = Self.rate(batch) { _ = encoder.embed(features: Array(repeating: features, count: batch), samples: Array(repeating: samples.count, count: batch)) }
        let endToEnd = Self.rate(batch) {
          var all: [[Float]] = [], counts: [Int] = []
          for _ in 0..<batch {
            let clipSamples = try! AudioReader(data, targetRate: rate, maxSeconds: 60).readAll()
            all.append(frontEnd.features(clipSamples[...]))
            counts.append(clipSamples.count)
          }
          _ = encoder.embed(features: all, samples: counts)
        }
        var line = String(format: "  batch %d: chorus model only %.2f clips/s, end to end %.2f clips/s", batch, modelOnly, endToEnd)
        if let reference = runReference(["audio", model, directory, "\(batch)", "\(seconds)", samplesFile]),
          let theirs = reference["clips_per_second"] as? Double
        {
          line += String(format: "; pytorch model only %.2f (%.2f×)", theirs, modelOnly / theirs)
          if batch == batches.first, let first = reference["first"] as? [Double] {
            print(String(format: "  parity vs reference: cosine %.7f", cosineSimilarity(ours, first.map(Float.init))))
          }
        }
        if let reference = runReference(["audio-end-to-end", model, directory, "\(batch)", "\(seconds)", clip]),
          let theirs = reference["clips_per_second"] as? Double
        {
          line += String(format: ", end to end %.2f (%.2f×)", theirs, endToEnd / theirs)
        }
        print(line)
      }
      // bf16 and int8 (--precision) model only, beside PyTorch fp32 and, for the Whisper and AST encoders, ONNX
      // Runtime fp32 and quantize_dynamic int8 (each side's cosine to its own fp32 embedding of the clip).
      guard !lowerPrecisions.isEmpty else { continue }
      let ort = model == "whisper-base" || model == "ast-base"
      var references: [Int: (torch: Double?, ort: Double?)] = [:]
      for batch in batches {
        let torch = runReference(["audio", model, directory, "\(batch)", "\(seconds)", samplesFile])?["clips_per_second"] as? Double
        let fp32 = ort ? runReference(["audio", model, directory, "\(batch)", "\(seconds)", samplesFile, "ort"]) : nil
        references[batch] = (torch, fp32?["clips_per_second"] as? Double)
        if let theirs = fp32?["clips_per_second"] as? Double {
          let modelOnly = Self.rate(batch) { _ = encoder.embed(features: Array(repeating: features, count: batch), samples: Array(repeating: samples.count, count: batch)) }
          print(String(format: "  fp32, batch %d: chorus model only %.2f clips/s, onnxruntime fp32 %.2f (%.2f×)", batch, modelOnly, theirs, modelOnly / theirs))
        }
      }
      for precision in lowerPrecisions {
        if let reason = precision.unsupportedReason {
          print("  \(precision): not on this CPU (\(reason))")
          continue
        }
        let lower = try ModelDirectory.load(directory, precision: precision).audio!
        let fidelity = cosineSimilarity(l2Normalized(lower.embed(features: [features], samples: [samples.count])[0]), ours)
        for batch in batches {
          let modelOnly = Self.rate(batch) { _ = lower.embed(features: Array(repeating: features, count: batch), samples: Array(repeating: samples.count, count: batch)) }
          var line = String(format: "  %@, batch %d: chorus model only %.2f clips/s (cosine to fp32 %.5f)", precision.rawValue, batch, modelOnly, fidelity)
          if let theirs = references[batch]?.torch { line += String(format: ", pytorch fp32 %.2f (%.2f×)", theirs, modelOnly / theirs) }
          if precision == .int8, ort, let reference = runReference(["audio", model, directory, "\(batch)", "\(seconds)", samplesFile, "ort-int8"]),
            let theirs = reference["clips_per_second"] as? Double, let first = reference["first"] as? [Double]
          {
            line += String(format: ", onnxruntime int8 %.2f (%.2f×, its cosine to fp32 %.5f)", theirs, modelOnly / theirs, cosineSimilarity(ours, first.map(Float.init)))
          }
          print(line)
        }
      }
    }
  }

  static func rate(_ batch: Int, _ body: () -> Void) -> Double {
    body()
    var done = 0
    let start = Date()
    while Date().timeIntervalSince(start) < seconds {
      body()
      done += batch
    }
    return Double(done) / Date().timeIntervalSince(start)
  }
}
