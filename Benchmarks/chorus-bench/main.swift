import CMatmul
import Encoders
import Foundation
import NIOCore
import NIOPosix
import Tensor

// chorus-bench: throughput of Chorus's encoders beside the reference implementation on the same weights, in the
// same run. `swift run -c release chorus-bench text [--python PATH] [--seconds S]`.
// The reference side is scripts/bench-reference.py, run with a Python that has torch (default: $CHORUS_REFERENCE_PYTHON).

// The client side of `daemon` runs its tasks on NIO's event loops too, as chorusd does, so the latency figures
// are not inflated by the benchmark's own thread hops.
_ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()

let arguments = CommandLine.arguments
func option(_ name: String) -> String? {
  arguments.firstIndex(of: name).flatMap { arguments.indices.contains($0 + 1) ? arguments[$0 + 1] : nil }
}
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let python = option("--python") ?? ProcessInfo.processInfo.environment["CHORUS_REFERENCE_PYTHON"]
let seconds = Double(option("--seconds") ?? "5")!
let script = root.appendingPathComponent("scripts/bench-reference.py").path
/// The lower precisions a benchmark measures beside fp32: `--precisions bf16,int8` (the default), `int8`, or `fp32` for none.
let lowerPrecisions = [Precision.bf16, .int8].filter { (option("--precisions") ?? "bf16,int8").split(separator: ",").contains(Substring($0.rawValue)) }

// What each benchmark reads that is not in git, and the command that fetches it: said plainly instead of crashing.
let needs: [String: [(path: String, what: String, command: String)]] = [
  "text": [("Models/all-MiniLM-L6-v2", "the starter text model", "scripts/fetch-models")],
  "daemon": [("Models/all-MiniLM-L6-v2", "the starter text model", "scripts/fetch-models")],
  "search": [("Models/all-MiniLM-L6-v2", "the starter text model", "scripts/fetch-models")],
  "vision": [("Models/efficientnet-lite0", "the starter image model", "scripts/fetch-models"), ("Tests/Data/skimage", "the test photos", "scripts/fetch-test-data")],
  "audio": [], "gemm": [],
  "fidelity": [
    ("Models/all-MiniLM-L6-v2", "the starter models", "scripts/fetch-models"), ("Tests/Data/skimage", "the test photos", "scripts/fetch-test-data"),
  ],
  "http": [("Models/all-MiniLM-L6-v2", "the starter text model", "scripts/fetch-models")],
  "load": [("Models/all-MiniLM-L6-v2", "the starter models", "scripts/fetch-models"), ("Tests/Data/skimage", "the test photos", "scripts/fetch-test-data")],
]
if arguments.count >= 2, let wanted = needs[arguments[1]] {
  for need in wanted where !FileManager.default.fileExists(atPath: root.appendingPathComponent(need.path).path) {
    LoadBench.missing("\(need.what) (\(need.path))", need.command)
  }
  // Every figure is tied to the CPU it came from: AVX2 and AVX-512 machines give different numbers.
  print("cpu: \(cpuModel()); vector features: \(vectorFeatures())")
}

/// ~12-token captions, as the issue's benchmark asks: distinct texts of common one-token words, so neither the
/// cache nor single-flight can share work, and in-process and daemon runs see the same token counts.
let texts: [String] = {
  let adjectives = ["small", "large", "happy", "old", "young", "brown", "white", "black"]
  let animals = ["dog", "cat", "horse", "bird", "cow", "sheep", "fox", "bear"]
  let verbs = ["playing", "sleeping", "running", "sitting", "standing", "eating"]
  let places = ["park", "garden", "field", "house", "river", "forest"]
  var texts: [String] = []
  for a in adjectives { for b in animals { for v in verbs { for p in places {
    texts.append("a photo of a \(a) \(b) \(v) near the \(p) at night")
  } } } }
  return texts
}()

func runReference(_ args: [String]) -> [String: Any]? {
  guard let python else { return nil }
  let process = Process()
  process.executableURL = URL(fileURLWithPath: python)
  process.arguments = [script] + args
  process.environment = ProcessInfo.processInfo.environment.merging(["HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "RAYON_NUM_THREADS": "1"]) { $1 }
  let pipe = Pipe()
  process.standardOutput = pipe
  process.standardError = FileHandle.nullDevice
  do { try process.run() } catch { return nil }
  let data = pipe.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  return try? JSONSerialization.jsonObject(with: data) as? [String: Any]
}

func throughput(_ encoder: any TextEncoder, batch: Int) -> Double {
  var next = 0
  func chunk() -> [String] {
    defer { next += batch }
    return (next..<next + batch).map { texts[$0 % texts.count] }
  }
  for _ in 0..<3 { _ = encoder.embed(chunk().map { encoder.tokenize($0).ids }) }
  var done = 0
  let start = Date()
  while Date().timeIntervalSince(start) < seconds {
    _ = encoder.embed(chunk().map { encoder.tokenize($0).ids })
    done += batch
  }
  return Double(done) / Date().timeIntervalSince(start)
}

if arguments.count >= 2, arguments[1] == "gemm" {
  // GFLOP/s of the GEMM shapes a transformer layer issues: Chorus's split over outputs (OpenBLAS single-threaded),
  // one plain call with OpenBLAS's own two threads, and oneDNN with weights packed once (fp32, bf16, int8).
  for (m, n, k) in [(384, 1152, 384), (384, 1536, 384), (384, 384, 1536), (12, 1152, 384), (12, 1536, 384), (16 * 50, 2304, 768)] {
    let x = Tensor(zeros: [m, k]), w = Tensor(zeros: [n, k]), y = Tensor(zeros: [m, n])
    for i in 0..<x.count { x.data[i] = Float(i % 7) * 0.1 }
    for i in 0..<w.count { w.data[i] = Float(i % 5) * 0.1 }
    var results: [String] = []
    for transposed in [false, true] {
      var iterations = 0
      let start = Date()
      while Date().timeIntervalSince(start) < 1 {
        if transposed {
          setBLASThreads(2)
          gemmNN(x, w, y, m: m, n: n, k: k)
          setBLASThreads(1)
        } else {
          linear(x, weight: w, bias: nil, into: y)
        }
        iterations += 1
      }
      let gflops = 2.0 * Double(m * n * k) * Double(iterations) / Date().timeIntervalSince(start) / 1e9
      results.append("\(transposed ? "openblas 2 threads" : "chorus split") \(String(format: "%.1f", gflops)) GFLOP/s")
    }
    // oneDNN with the weights packed once (CMatmul), fp32 and bf16: the candidates of the faster-inference issue.
    linear(x, weight: w, bias: nil, into: y)
    let reference = Array(UnsafeBufferPointer(start: y.data, count: m * n))
    let scale = reference.map(abs).max() ?? 1
    for precision in [CHORUS_MATMUL_FP32, CHORUS_MATMUL_BF16, CHORUS_MATMUL_INT8] {
      let name = precision == CHORUS_MATMUL_FP32 ? "onednn fp32" : precision == CHORUS_MATMUL_BF16 ? "onednn bf16" : "onednn int8"
      var error = [CChar](repeating: 0, count: 256)
      guard let packed = chorus_matmul_create(w.data, Int64(n), Int64(k), precision, &error, error.count) else {
        results.append("\(name): \(String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))")
        continue
      }
      defer { chorus_matmul_destroy(packed) }
      var iterations = 0
      let start = Date()
      while Date().timeIntervalSince(start) < 1 {
        guard chorus_matmul_run(packed, x.data, Int64(m), y.data, &error, error.count) == 0 else { break }
        iterations += 1
      }
      let gflops = 2.0 * Double(m * n * k) * Double(iterations) / Date().timeIntervalSince(start) / 1e9
      let worst = zip(reference, UnsafeBufferPointer(start: y.data, count: m * n)).map { abs($0 - $1) }.max() ?? 0
      let kernel = chorus_matmul_kernel(packed, Int64(m)).map { String(cString: $0) } ?? "?"
      results.append("\(name) \(String(format: "%.1f", gflops)) GFLOP/s (\(kernel), max-abs \(String(format: "%.1e", worst)) of \(String(format: "%.1f", scale)))")
    }
    // The packed split the encoders use (PackedLinear: a oneDNN part per core, each run on its own thread), per precision.
    for precision in Precision.allCases where precision.unsupportedReason == nil {
      let packedSplit = PackedLinear(weight: w, precision: precision)
      var splitIterations = 0
      let splitStart = Date()
      while Date().timeIntervalSince(splitStart) < 1 {
        packedSplit.apply(x, bias: nil, into: y, accumulate: false)
        splitIterations += 1
      }
      let splitWorst = zip(reference, UnsafeBufferPointer(start: y.data, count: m * n)).map { abs($0 - $1) }.max() ?? 0
      let rate = 2.0 * Double(m * n * k) * Double(splitIterations) / Date().timeIntervalSince(splitStart) / 1e9
      results.append("packed split \(precision) \(String(format: "%.1f", rate)) GFLOP/s (max-abs \(String(format: "%.1e", splitWorst)))")
    }
    print("m=\(m) n=\(n) k=\(k): " + results.joined(separator: ", "))
  }
  exit(0)
}

if arguments.count >= 2, arguments[1] == "daemon" {
  // Through chorusd's socket vs in process, both on the starter (all-MiniLM-L6-v2), same texts.
  let binDirectory = URL(fileURLWithPath: Bundle.main.executablePath!).deletingLastPathComponent().path
  let encoder = try ModelDirectory.load(root.appendingPathComponent("Models/all-MiniLM-L6-v2").path).text!
  print("MiniLM-L6 through chorusd vs in process, \(seconds) s per figure")
  let inProcess = [32: throughput(encoder, batch: 32), 1: throughput(encoder, batch: 1)]
  let through = try await daemonThroughput(texts: texts, seconds: seconds, binDirectory: binDirectory)
  for (label, rate) in through {
    let reference = label.hasPrefix("batch 32") ? inProcess[32]! : (label.contains("concurrent") ? inProcess[32]! : inProcess[1]!)
    let against = label.hasPrefix("batch 32") || label.contains("concurrent") ? "in-process batch 32" : "in-process batch 1"
    print("  \(label): \(String(format: "%.1f", rate)) texts/s, \(String(format: "%.2f", rate / reference))× of \(against) (\(String(format: "%.1f", reference)))")
  }
  exit(0)
}

if arguments.count >= 2, arguments[1] == "http" {
  try await HTTPBench.run(
    root: root, texts: texts, seconds: seconds, rounds: Int(option("--rounds") ?? "3")!,
    infinity: option("--infinity") ?? ProcessInfo.processInfo.environment["CHORUS_INFINITY"])
  exit(0)
}

if arguments.count >= 2, arguments[1] == "load" {
  try await LoadBench.run(root: root, option: option, seconds: Double(option("--seconds") ?? "20")!)
  exit(0)
}

if arguments.count >= 2, arguments[1] == "search" {
  // Reads FAISS's side with --python or CHORUS_FAISS_PYTHON (numpy + faiss-cpu), else CHORUS_REFERENCE_PYTHON.
  try await SearchBench.run(root: root, python: option("--python") ?? ProcessInfo.processInfo.environment["CHORUS_FAISS_PYTHON"] ?? python, option: option)
  exit(0)
}

if arguments.count >= 2, arguments[1] == "audio" {
  try AudioBench.run(root: root, option: option)
  exit(0)
}

if arguments.count >= 2, arguments[1] == "fidelity" {
  try await FidelityBench.run(root: root)
  exit(0)
}

if arguments.count >= 2, arguments[1] == "vision" {
  try VisionBench.run()
  exit(0)
}

guard arguments.count >= 2, arguments[1] == "text" else {
  FileHandle.standardError.write(Data("usage: chorus-bench (text [--python PATH] [--only st|clip|tokenizers] [--batches 1,32] [--precisions bf16,int8|int8|fp32] | vision [--python PATH] | audio [--python PATH] [--batches 1,4] | search [--python PATH] [--vectors N] [--ef 16,32,64] [--only real|perturbed|uniform] | daemon | http [--infinity PATH] [--rounds 3] | load [--clients 64] [--storm 256] | gemm | fidelity [--only NAME]) [--seconds S]\n".utf8))
  exit(2)
}

let textsFile = FileManager.default.temporaryDirectory.appendingPathComponent("chorus-bench-texts.json")
try JSONSerialization.data(withJSONObject: texts).write(to: textsFile)
// Parity on the first 64 captions (all 2,304 in one batch would take minutes on the 0.6B model, both sides).
let parityTexts = Array(texts.prefix(64))
let parityFile = FileManager.default.temporaryDirectory.appendingPathComponent("chorus-bench-parity-texts.json")
try JSONSerialization.data(withJSONObject: parityTexts).write(to: parityFile)

var models: [(name: String, kind: String, directory: String)] = [("MiniLM-L6 (all-MiniLM-L6-v2)", "st", root.appendingPathComponent("Models/all-MiniLM-L6-v2").path)]
let clipDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("chorus-bench-clip-b32").path
if python != nil {
  if !FileManager.default.fileExists(atPath: clipDirectory + "/model.safetensors") {
    _ = runReference(["make-clip-b32", clipDirectory, root.appendingPathComponent("Models/clip-bpe").path])
  }
}
if FileManager.default.fileExists(atPath: clipDirectory + "/model.safetensors") {
  models.append(("CLIP ViT-B/32 text (random weights)", "clip", clipDirectory))
}
// The architectures users bring, at full size on the synthetic weights the parity tests write
// (.build/synthetic-checkpoints, from Tests/EncodersTests/Fixtures/*/weights.manifest.json): same weights both sides.
let synthetic = root.appendingPathComponent(".build/synthetic-checkpoints")
for (prefix, label) in [
  ("xlm-roberta-base", "XLM-RoBERTa base (multilingual-e5-base shape, synthetic weights)"), ("mpnet-base", "MPNet base (all-mpnet-base-v2 shape, synthetic weights)"),
  ("modernbert-base", "ModernBERT base (synthetic weights)"), ("qwen3-0.6b", "Qwen3-Embedding-0.6B shape (synthetic weights)"),
] {
  if let found = (try? FileManager.default.contentsOfDirectory(atPath: synthetic.path))?.sorted().first(where: { $0.hasPrefix(prefix + "-") }) {
    models.append((label, "st", synthetic.appendingPathComponent(found).path))
  } else {
    print("\(label): not measured; `swift test --filter ArchitectureParityTests` writes its checkpoint first")
  }
}
if python == nil {
  print("no reference Python (--python or CHORUS_REFERENCE_PYTHON): Chorus figures only")
}

print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(ProcessInfo.processInfo.physicalMemory >> 30) GiB; \(seconds) s per figure")
let only = option("--only")  // "st", "clip" or "tokenizers"
if only == nil || only == "tokenizers" { try tokenizerBenchmark(seconds: seconds) }
for model in models where only == nil || model.kind == only || model.directory.contains(only!) {
  let encoder = try ModelDirectory.load(model.directory).text!
  let tokens = texts.map { encoder.tokenize($0).ids.count }
  print("\n\(model.name): \(tokens.min()!)–\(tokens.max()!) tokens per text")
  if let reference = runReference(["embed", model.kind, model.directory, parityFile.path])?["vectors"] as? [[Double]] {
    let ours = encoder.embed(parityTexts.map { encoder.tokenize($0).ids }).map(l2Normalized)
    var worstCosine = 1.0, worstAbs = 0.0
    for (mine, theirs) in zip(ours, reference) {
      var dot = 0.0, a = 0.0, b = 0.0
      for (x, y) in zip(mine, theirs) {
        dot += Double(x) * y
        a += Double(x) * Double(x)
        b += y * y
        worstAbs = max(worstAbs, abs(Double(x) - y))
      }
      worstCosine = min(worstCosine, dot / (a.squareRoot() * b.squareRoot()))
    }
    print("  parity vs reference: worst cosine \(String(format: "%.7f", worstCosine)), worst max-abs \(String(format: "%.2e", worstAbs))")
  }
  // Tokenization alone, per text, on the same texts: its share of end-to-end time at each batch size.
  let tokenizeStart = Date()
  var tokenized = 0
  while Date().timeIntervalSince(tokenizeStart) < 1 {
    for text in texts { _ = encoder.tokenize(text) }
    tokenized += texts.count
  }
  let tokenizeSeconds = Date().timeIntervalSince(tokenizeStart) / Double(tokenized)
  let batches = option("--batches")?.split(separator: ",").compactMap { Int($0) } ?? [1, 32]
  var pytorch: [Int: Double] = [:]
  for batch in batches {
    let ours = throughput(encoder, batch: batch)
    var line = "  batch \(batch): chorus \(String(format: "%.1f", ours)) texts/s (tokenization \(String(format: "%.1f", 100 * tokenizeSeconds * ours)) % of it)"
    if let theirs = runReference(["throughput", model.kind, model.directory, "\(batch)", "\(seconds)", textsFile.path])?["texts_per_second"] as? Double {
      pytorch[batch] = theirs
      line += ", pytorch \(String(format: "%.1f", theirs)) texts/s, ratio \(String(format: "%.2f", ours / theirs))×"
    }
    // Sentence-transformers models also beside their ONNX export in ONNX Runtime (fp32).
    if model.kind == "st", let theirs = runReference(["throughput", "st-ort", model.directory, "\(batch)", "\(seconds)", textsFile.path])?["texts_per_second"] as? Double {
      line += ", onnxruntime \(String(format: "%.1f", theirs)) (chorus \(String(format: "%.2f", ours / theirs))×)"
    }
    print(line)
  }
  // The same model in bf16 and int8 (--precision), beside PyTorch fp32 and ONNX Runtime's quantize_dynamic int8.
  guard !lowerPrecisions.isEmpty else { continue }
  let reference = encoder.embed(parityTexts.map { encoder.tokenize($0).ids }).map(l2Normalized)
  for precision in lowerPrecisions {
    if let reason = precision.unsupportedReason {
      print("  \(precision): not on this CPU (\(reason))")
      continue
    }
    let lower = try ModelDirectory.load(model.directory, precision: precision).text!
    let cosines = zip(lower.embed(parityTexts.map { lower.tokenize($0).ids }).map(l2Normalized), reference).map { zip($0, $1).reduce(0) { $0 + Double($1.0) * Double($1.1) } }
    print("  \(precision) vs chorus fp32 on \(parityTexts.count) texts: mean cosine \(String(format: "%.5f", cosines.reduce(0, +) / Double(cosines.count))), worst \(String(format: "%.5f", cosines.min()!))")
    for batch in batches {
      let ours = throughput(lower, batch: batch)
      var line = "  \(precision), batch \(batch): chorus \(String(format: "%.1f", ours)) texts/s"
      if let theirs = pytorch[batch] { line += ", pytorch fp32 \(String(format: "%.1f", theirs)) (chorus \(String(format: "%.2f", ours / theirs))×)" }
      if precision == .int8, model.kind == "st",
        let theirs = runReference(["throughput", "st-ort-int8", model.directory, "\(batch)", "\(seconds)", textsFile.path])?["texts_per_second"] as? Double
      {
        line += ", onnxruntime int8 \(String(format: "%.1f", theirs)) (chorus \(String(format: "%.2f", ours / theirs))×)"
      }
      print(line)
    }
  }
}
