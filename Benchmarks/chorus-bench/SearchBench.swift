import CBLAS
import Encoders
import Foundation
import Store
import Tensor

/// `chorus-bench search`: recall@10 and latency of collection search (HNSW, through CollectionStore) beside FAISS's
/// IndexHNSWFlat (scripts/bench-faiss.py) on the same vectors, queries and ground truth, in the same run.
/// Data: the starter space's vectors of Debian package descriptions (`apt-cache dumpavail`), those vectors
/// perturbed up to `--vectors` (default 1M), and uniform random unit vectors (the worst case for any HNSW).
/// `--store postgresql://…` adds the PostgreSQL store on the same data (`PostgresSearchBench`).
enum SearchBench {
  static let work = FileManager.default.temporaryDirectory.appendingPathComponent("chorus-bench-search").path
  static let dimension = 384

  static func run(root: URL, python: String?, option: (String) -> String?) async throws {
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    let total = Int(option("--vectors") ?? "1000000")!
    let queryCount = Int(option("--queries") ?? "1000")!
    let efs = (option("--ef") ?? "16,64,128,256,512").split(separator: ",").compactMap { Int($0) }
    let only = option("--only")  // real, perturbed or uniform
    let real = try descriptionVectors(root: root, limit: Int(option("--texts") ?? "50000")!)
    let nReal = real.count / dimension - queryCount
    let realBase = Array(real[0..<nReal * dimension]), realQueries = Array(real[(nReal * dimension)...])
    print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(ProcessInfo.processInfo.physicalMemory >> 30) GiB")
    print("\(nReal + queryCount) package descriptions embedded by the starter (all-MiniLM-L6-v2); \(queryCount) held out as queries")
    var random = SplitMix(seed: 7)
    let sets: [(name: String, base: () -> [Float], queries: () -> [Float])] = [
      ("real: \(nReal) description vectors", { realBase }, { realQueries }),
      (
        "perturbed: \(total) = description vectors + N(0, 0.01²) per component, renormalised",
        { perturb(realBase, to: total, random: &random) }, { perturb(realQueries, to: queryCount, random: &random) }
      ),
      ("uniform: \(total) random unit vectors", { uniform(total, random: &random) }, { uniform(queryCount, random: &random) }),
    ]
    for (name, makeBase, makeQueries) in sets where only == nil || name.hasPrefix(only!) {
      let base = makeBase(), queries = makeQueries()
      print("\n\(name); k = 10, one query at a time on one thread")
      let truth = exactTop10(base: base, queries: queries)
      try write(base, "base.f32")
      try write(queries, "queries.f32")
      try truth.map { Int32($0) }.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: work + "/truth.i32")) }
      if option("--skip-embedded") == nil { try measureChorus(base: base, queries: queries, truth: truth, efs: efs) }
      if let python, option("--skip-faiss") == nil {
        measureFAISS(python: python, script: root.appendingPathComponent("scripts/bench-faiss.py").path, efs: efs)
      }
      if let url = option("--store") {
        try await PostgresSearchBench.measure(url: url, base: base, queries: queries, truth: truth, efs: efs, dimension: dimension)
      }
    }
    if let url = option("--store") {
      print("\nupsert throughput through chorusd --store (real description vectors)")
      try await PostgresSearchBench.upsertThroughput(url: url, vectors: realBase, dimension: dimension, seconds: Double(option("--seconds") ?? "10")!)
    }
  }

  static func measureChorus(base: [Float], queries: [Float], truth: [Int], efs: [Int]) throws {
    let directory = work + "/store"
    try? FileManager.default.removeItem(atPath: directory)
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    // The configured ef is a floor under every search; keep it low so the sweep below sets it (64 is the default).
    let parameters = HNSWParameters(efSearch: 10)
    let store = try CollectionStore(directory: directory, index: IndexSettings(hnsw: parameters))
    _ = try store.create(name: "bench", space: "starter", dimension: dimension)
    let count = base.count / dimension
    var start = Date()
    for first in stride(from: 0, to: count, by: 10_000) {
      let items = (first..<min(first + 10_000, count)).map { i in
        StoredItem(id: "\(i)", modality: "text", vector: Array(base[i * dimension..<(i + 1) * dimension]), metadata: [:], source: "", contentHash: "")
      }
      try store.upsert("bench", items)
    }
    let stored = Date().timeIntervalSince(start)
    start = Date()
    try store.waitForIndexing()
    let indexed = Date().timeIntervalSince(start)
    let status = try store.indexStatus("bench")
    print(String(format: "  chorus: stored in %.1f s (SQLite, fsync'd), HNSW (M %d, efConstruction %d) finished %.1f s later: %d segment(s)",
                 stored, parameters.m, parameters.efConstruction, indexed, status.segments))
    let nQueries = queries.count / dimension
    for ef in efs {
      // Twice: the index alone (ids and scores, what FAISS returns) and the whole search (items read from SQLite).
      var line = String(format: "    chorus ef %4d:", ef)
      for withItems in [false, true] {
        func search(_ q: Int) throws -> [String] {
          withItems
            ? try store.search("bench", query: query(queries, q), k: 10, filter: SearchFilter(), efSearch: ef).map(\.item.id)
            : try store.rank("bench", query: query(queries, q), k: 10, filter: SearchFilter(), efSearch: ef).map(\.id)
        }
        for q in 0..<min(50, nQueries) { _ = try search(q) }
        var latencies: [Double] = [], hits = 0
        for q in 0..<nQueries {
          let begin = DispatchTime.now().uptimeNanoseconds
          let found = try search(q)
          latencies.append(Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e6)
          let expected = Set(truth[q * 10..<(q + 1) * 10])
          hits += found.filter { expected.contains(Int($0)!) }.count
        }
        latencies.sort()
        line += String(format: withItems ? "; with items p50 %.3f ms, p99 %.3f ms" : " recall@10 %.3f, index p50 %.3f ms, p99 %.3f ms",
                       withItems ? latencies[latencies.count / 2] : Double(hits) / Double(10 * nQueries),
                       withItems ? latencies[Int(Double(latencies.count) * 0.99)] : latencies[latencies.count / 2],
                       latencies[Int(Double(latencies.count) * 0.99)])
      }
      print(line)
    }
    try? FileManager.default.removeItem(atPath: directory)
  }

  static func measureFAISS(python: String, script: String, efs: [Int]) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    let p = HNSWParameters()
    process.arguments = [script, work + "/base.f32", work + "/queries.f32", work + "/truth.i32", "\(dimension)", "\(p.m)", "\(p.efConstruction)",
                         efs.map(String.init).joined(separator: ",")]
    let pipe = Pipe()
    process.standardOutput = pipe
    guard (try? process.run()) != nil else { return print("  faiss: could not start \(python)") }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let results = json["results"] as? [[String: Any]] else {
      return print("  faiss: no result (is faiss-cpu installed for \(python)?)")
    }
    print(String(format: "  faiss %@: IndexHNSWFlat built in %.1f s (2 threads)", faissVersion(python), json["build_seconds"] as? Double ?? 0))
    for result in results {
      print(String(format: "    faiss  ef %4d: recall@10 %.3f, p50 %.3f ms, p99 %.3f ms", result["ef"] as? Int ?? 0, result["recall"] as? Double ?? 0,
                   result["p50_ms"] as? Double ?? 0, result["p99_ms"] as? Double ?? 0))
    }
  }

  static func faissVersion(_ python: String) -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = ["-c", "import faiss; print(faiss.__version__)"]
    let pipe = Pipe()
    process.standardOutput = pipe
    try? process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
  }

  static func query(_ queries: [Float], _ q: Int) -> [Float] { Array(queries[q * dimension..<(q + 1) * dimension]) }

  /// Short description plus the first paragraph of the long one, per package, distinct, in a stable order.
  static func descriptions(limit: Int) -> [String] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/apt-cache")
    process.arguments = ["dumpavail"]
    let pipe = Pipe()
    process.standardOutput = pipe
    try? process.run()
    let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    var seen = Set<String>(), result: [String] = []
    var current: String?
    func finish() {
      if let description = current, !description.isEmpty, seen.insert(description).inserted { result.append(description) }
      current = nil
    }
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
      if line.hasPrefix("Description:") {
        finish()
        current = line.dropFirst("Description:".count).trimmingCharacters(in: .whitespaces)
      } else if current != nil, line.hasPrefix(" ") {
        if line == " ." { finish() } else { current! += " " + line.trimmingCharacters(in: .whitespaces) }
      } else {
        finish()
      }
    }
    finish()
    return Array(result.sorted().prefix(limit))
  }

  /// The starter text encoder's vectors of the descriptions, cached between runs.
  static func descriptionVectors(root: URL, limit: Int) throws -> [Float] {
    let cache = work + "/descriptions-\(limit).f32"
    if let data = FileManager.default.contents(atPath: cache), data.count > 0 {
      return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }
    let texts = descriptions(limit: limit)
    let encoder = try ModelDirectory.load(root.appendingPathComponent("Models/all-MiniLM-L6-v2").path).text!
    var vectors: [Float] = []
    let start = Date()
    for first in stride(from: 0, to: texts.count, by: 32) {
      let batch = texts[first..<min(first + 32, texts.count)].map { encoder.tokenize($0).ids }
      for vector in encoder.embed(batch) { vectors += l2Normalized(vector) }
    }
    print(String(format: "embedded %d descriptions in %.0f s", texts.count, Date().timeIntervalSince(start)))
    try vectors.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: cache)) }
    return vectors
  }

  static func perturb(_ source: [Float], to count: Int, random: inout SplitMix) -> [Float] {
    let rows = source.count / dimension
    var out = [Float](repeating: 0, count: count * dimension)
    for i in 0..<count {
      let row = i % rows
      for j in 0..<dimension { out[i * dimension + j] = source[row * dimension + j] + 0.01 * random.gaussian() }
      normalise(&out, row: i)
    }
    return out
  }

  static func uniform(_ count: Int, random: inout SplitMix) -> [Float] {
    var out = [Float](repeating: 0, count: count * dimension)
    for i in 0..<count {
      for j in 0..<dimension { out[i * dimension + j] = random.gaussian() }
      normalise(&out, row: i)
    }
    return out
  }

  static func normalise(_ matrix: inout [Float], row: Int) {
    var sum: Float = 0
    for j in 0..<dimension { sum += matrix[row * dimension + j] * matrix[row * dimension + j] }
    let scale = 1 / sum.squareRoot()
    for j in 0..<dimension { matrix[row * dimension + j] *= scale }
  }

  /// Exact top-10 rows per query by blocks of one GEMM each (the ground truth both sides are scored against).
  static func exactTop10(base: [Float], queries: [Float]) -> [Int] {
    let n = base.count / dimension, q = queries.count / dimension, block = 16_384
    var best = [[(Float, Int)]](repeating: [], count: q)
    var scores = [Float](repeating: 0, count: q * block)
    for first in stride(from: 0, to: n, by: block) {
      let rows = min(block, n - first)
      base.withUnsafeBufferPointer { b in
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(q), Int32(rows), Int32(dimension), 1, queries, Int32(dimension),
                    b.baseAddress! + first * dimension, Int32(dimension), 0, &scores, Int32(block))
      }
      for i in 0..<q {
        var list = best[i]
        for r in 0..<rows where list.count < 10 || scores[i * block + r] > list[list.count - 1].0 {
          list.append((scores[i * block + r], first + r))
          list.sort { $0.0 > $1.0 }
          if list.count > 10 { list.removeLast() }
        }
        best[i] = list
      }
    }
    return best.flatMap { $0.map(\.1) }
  }

  static func write(_ vectors: [Float], _ name: String) throws {
    try vectors.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: work + "/" + name)) }
  }
}

/// splitmix64 with Box–Muller normals: reproducible data sets.
struct SplitMix {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  mutating func gaussian() -> Float {
    let u1 = Double(next() >> 11 + 1) / Double(1 << 53), u2 = Double(next() >> 11) / Double(1 << 53)
    return Float((-2 * log(u1)).squareRoot() * cos(2 * .pi * u2))
  }
}
