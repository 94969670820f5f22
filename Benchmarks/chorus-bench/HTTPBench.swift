import ChorusAPI
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// `chorus-bench http`: OpenAI-shaped requests over chorusd's HTTP socket (and loopback TCP) beside gRPC `Embed`
/// on the same daemon, and beside Infinity (`infinity_emb v2`, PyPI `infinity-emb`, a venv outside the repo)
/// serving the same all-MiniLM-L6-v2 directory, one after the other on the same machine.
///
/// Every request carries texts no request sent before (the caption list with a running number), so neither
/// Chorus's cache nor single-flight can skip work; the cache-hit figure repeats one text on purpose.
enum HTTPBench {
  static func run(root: URL, texts: [String], seconds: Double, rounds: Int, infinity: String?) async throws {
    let binDirectory = URL(fileURLWithPath: Bundle.main.executablePath!).deletingLastPathComponent().path
    let model = root.appendingPathComponent("Models/all-MiniLM-L6-v2").path
    let port = freePort()
    let daemon = try BenchDaemon(name: "http", binDirectory: binDirectory, extraArguments: ["--http-address", "127.0.0.1:\(port)"])
    defer { daemon.stop() }
    // Both servers stay up for the whole run and are measured in turn, round after round (an idle one costs the
    // other nothing), so slow drifts of this shared machine fall on all of them alike; each figure is the median
    // over the rounds.
    var server: InfinityServer?
    if let infinity {
      server = try InfinityServer(executable: infinity, model: model, port: freePort())
      try server!.waitUntilReady()
    } else {
      print("  (Infinity not measured: pass --infinity PATH/TO/infinity_emb or set CHORUS_INFINITY)")
    }
    defer { server?.stop() }
    let stream = TextStream(texts: texts)
    print("MiniLM-L6 (all-MiniLM-L6-v2), \(seconds) s per figure, \(rounds) rounds (medians); every text new to the server unless said")

    let openAIBody: @Sendable ([String]) -> [UInt8] = { OpenAIBody.make(model: "default", inputs: $0) }
    var names = ["Chorus gRPC (Unix socket)", "Chorus HTTP /v1/embeddings (Unix socket)", "Chorus HTTP /v1/embeddings (TCP 127.0.0.1)"]
    if server != nil { names.append("Infinity /embeddings (TCP 127.0.0.1)") }
    var measured = [[Figures]](repeating: [], count: names.count)
    let transport = try HTTP2ClientTransport.Posix(target: .unixDomainSocket(path: daemon.socket), transportSecurity: .plaintext)
    try await withGRPCClient(transport: transport) { client in
      try await daemon.waitUntilServing(client)
      let embedding = Chorus_V1_EmbeddingService.Client(wrapping: client)
      for round in 1...rounds {
        measured[0].append(try await measureGRPC(embedding, stream: stream, seconds: seconds))
        measured[1].append(
          try measureHTTP(connect: { try HTTPClient(unixPath: daemon.directory + "/http.sock") }, path: "/v1/embeddings", body: openAIBody, stream: stream, seconds: seconds))
        measured[2].append(try measureHTTP(connect: { try HTTPClient(port: port) }, path: "/v1/embeddings", body: openAIBody, stream: stream, seconds: seconds))
        if let server {
          let body: @Sendable ([String]) -> [UInt8] = { OpenAIBody.make(model: model, inputs: $0) }
          measured[3].append(try measureHTTP(connect: { try HTTPClient(port: server.port) }, path: "/embeddings", body: body, stream: stream, seconds: seconds))
        }
        print("  round \(round): " + zip(names, measured).map { "\($0.0.split(separator: " ").prefix(2).joined(separator: " ")) \(fmt($0.1.last!.batch32))" }.joined(separator: ", ") + " texts/s at batch 32")
      }
    }
    let rows = zip(names, measured.map(Figures.median)).map { (server: $0.0, figures: $0.1) }

    print("")
    print("| server | batch 32, 1 client (texts/s) | batch 32, 2 clients (texts/s) | batch 1 p50 / p99 (ms) | same text again p50 (ms) |")
    print("|---|---|---|---|---|")
    for row in rows {
      let f = row.figures
      print(
        "| \(row.server) | \(fmt(f.batch32)) | \(fmt(f.batch32Pair)) | \(String(format: "%.2f / %.2f", f.single.p50, f.single.p99)) | \(String(format: "%.2f", f.repeated.p50)) |")
    }
    let grpc = rows[0].figures, http = rows[1].figures
    print("")
    print("HTTP (socket) / gRPC at batch 32: \(String(format: "%.2f", http.batch32 / grpc.batch32))× (1 client), \(String(format: "%.2f", http.batch32Pair / grpc.batch32Pair))× (2 clients)")
    if rows.count > 3 {
      let tcp = rows[2].figures, infinity = rows[3].figures
      print("Chorus HTTP (TCP) / Infinity at batch 32: \(String(format: "%.2f", tcp.batch32 / infinity.batch32))× (1 client), \(String(format: "%.2f", tcp.batch32Pair / infinity.batch32Pair))× (2 clients)")
      print("batch 1 p50: Chorus HTTP (TCP) \(String(format: "%.2f", tcp.single.p50)) ms, Infinity \(String(format: "%.2f", infinity.single.p50)) ms")
    }
  }

  struct Latency {
    var p50: Double
    var p99: Double
    init(p50: Double, p99: Double) {
      self.p50 = p50
      self.p99 = p99
    }
    init(_ samples: [Double]) {
      let sorted = samples.sorted()
      p50 = sorted[sorted.count / 2]
      p99 = sorted[min(sorted.count - 1, sorted.count * 99 / 100)]
    }
  }

  struct Figures {
    var batch32: Double
    var batch32Pair: Double
    var single: Latency
    var repeated: Latency

    /// Each field's median over the rounds.
    static func median(_ rounds: [Figures]) -> Figures {
      func mid(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
      return Figures(
        batch32: mid(rounds.map(\.batch32)), batch32Pair: mid(rounds.map(\.batch32Pair)),
        single: Latency(p50: mid(rounds.map(\.single.p50)), p99: mid(rounds.map(\.single.p99))),
        repeated: Latency(p50: mid(rounds.map(\.repeated.p50)), p99: mid(rounds.map(\.repeated.p99))))
    }
  }

  static func fmt(_ value: Double) -> String { String(format: "%.0f", value) }

  // MARK: gRPC

  static func measureGRPC(_ embedding: Chorus_V1_EmbeddingService.Client<HTTP2ClientTransport.Posix>, stream: TextStream, seconds: Double) async throws -> Figures {
    @Sendable func request(_ texts: [String]) -> Chorus_V1_EmbedRequest { .with { $0.inputs = texts.map { text in .with { $0.text = text } } } }
    func rate(_ clients: Int) async throws -> Double {
      _ = try await embedding.embed(request(stream.next(32)))
      return try await inputsPerSecond(clients: clients, seconds: seconds, perCall: 32) { _ = try await embedding.embed(request(stream.next(32))) }
    }
    func latencies(_ texts: @escaping () -> [String]) async throws -> Latency {
      var samples: [Double] = []
      let start = Date()
      while Date().timeIntervalSince(start) < seconds || samples.count < 100 {
        let began = DispatchTime.now().uptimeNanoseconds
        _ = try await embedding.embed(request(texts()))
        samples.append(Double(DispatchTime.now().uptimeNanoseconds - began) / 1e6)
      }
      return Latency(samples)
    }
    let batch32 = try await rate(1)
    let pair = try await rate(2)
    let single = try await latencies { stream.next(1) }
    let same = stream.next(1)
    let repeated = try await latencies { same }
    return Figures(batch32: batch32, batch32Pair: pair, single: single, repeated: repeated)
  }

  // MARK: HTTP (blocking keep-alive clients on threads of their own, so the client adds little of its own)

  static func measureHTTP(connect: @escaping @Sendable () throws -> HTTPClient, path: String, body: @escaping @Sendable ([String]) -> [UInt8], stream: TextStream, seconds: Double) throws -> Figures {
    @Sendable func call(_ client: HTTPClient, _ texts: [String]) throws {
      let (status, response) = try client.post(path: path, body: body(texts))
      guard status == 200 else { throw BenchFailure("\(path) answered \(status): \(String(decoding: response.prefix(300), as: UTF8.self))") }
    }
    func rate(_ clients: Int) throws -> Double {
      let warm = try connect()
      try call(warm, stream.next(32))
      let start = Date()
      let totals = Mutex<(done: Int, error: String?)>((0, nil))
      let finished = DispatchGroup()
      for _ in 0..<clients {
        finished.enter()
        Thread.detachNewThread {
          defer { finished.leave() }
          do {
            let client = try connect()
            var done = 0
            while Date().timeIntervalSince(start) < seconds {
              try call(client, stream.next(32))
              done += 32
            }
            totals.withLock { $0.done += done }
          } catch {
            totals.withLock { $0.error = "\(error)" }
          }
        }
      }
      finished.wait()
      let result = totals.withLock { $0 }
      if let error = result.error { throw BenchFailure(error) }
      return Double(result.done) / Date().timeIntervalSince(start)
    }
    func latencies(_ texts: () -> [String]) throws -> Latency {
      let client = try connect()
      var samples: [Double] = []
      let start = Date()
      while Date().timeIntervalSince(start) < seconds || samples.count < 100 {
        let began = DispatchTime.now().uptimeNanoseconds
        try call(client, texts())
        samples.append(Double(DispatchTime.now().uptimeNanoseconds - began) / 1e6)
      }
      return Latency(samples)
    }
    let batch32 = try rate(1)
    let pair = try rate(2)
    let single = try latencies { stream.next(1) }
    let same = stream.next(1)
    let repeated = try latencies { same }
    return Figures(batch32: batch32, batch32Pair: pair, single: single, repeated: repeated)
  }
}

/// Texts no server saw before: the captions with a running number, from one counter shared by every client.
final class TextStream: Sendable {
  let texts: [String]
  private let counter = Mutex(0)
  init(texts: [String]) { self.texts = texts }

  func next(_ count: Int) -> [String] {
    let base = counter.withLock { value in
      defer { value += count }
      return value
    }
    return (base..<base + count).map { "\(texts[$0 % texts.count]) \($0)" }
  }
}

enum OpenAIBody {
  static func make(model: String, inputs: [String]) -> [UInt8] {
    let object: [String: Any] = ["model": model, "input": inputs, "encoding_format": "float"]
    return Array(try! JSONSerialization.data(withJSONObject: object))
  }
}

/// A minimal blocking HTTP/1.1 client over one keep-alive connection (Unix socket or loopback TCP): enough for
/// servers that answer with Content-Length, as both measured here do.
final class HTTPClient: @unchecked Sendable {  // one thread uses one client
  private let fd: Int32
  private var buffer: [UInt8] = []

  init(unixPath: String) throws {
    fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
      for (index, byte) in unixPath.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
    }
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard connected == 0 else { throw BenchFailure("cannot connect to \(unixPath): \(String(cString: strerror(errno)))") }
  }

  init(port: Int) throws {
    fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw BenchFailure("cannot connect to 127.0.0.1:\(port): \(String(cString: strerror(errno)))") }
    var one: Int32 = 1
    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
  }

  deinit { close(fd) }

  func post(path: String, body: [UInt8]) throws -> (status: Int, body: [UInt8]) {
    var request = Array("POST \(path) HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n".utf8)
    request += body
    var sent = 0
    while sent < request.count {
      let count = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
      guard count > 0 else { throw BenchFailure("send: \(String(cString: strerror(errno)))") }
      sent += count
    }
    // The head, then Content-Length bytes of body.
    var headEnd: Int?
    while headEnd == nil {
      headEnd = find(Array("\r\n\r\n".utf8))
      if headEnd == nil { try fill() }
    }
    let head = String(decoding: buffer[..<headEnd!], as: UTF8.self)
    buffer.removeFirst(headEnd! + 4)
    let lines = head.split(separator: "\r\n")
    guard let statusLine = lines.first, let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") else { throw BenchFailure("bad status line: \(head.prefix(80))") }
    guard let lengthLine = lines.first(where: { $0.lowercased().hasPrefix("content-length:") }), let length = Int(lengthLine.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) else {
      throw BenchFailure("no Content-Length in the answer")
    }
    while buffer.count < length { try fill() }
    let answer = Array(buffer[..<length])
    buffer.removeFirst(length)
    return (status, answer)
  }

  private func fill() throws {
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
    guard count > 0 else { throw BenchFailure("the server closed the connection") }
    buffer += chunk[..<count]
  }

  private func find(_ needle: [UInt8]) -> Int? {
    guard buffer.count >= needle.count else { return nil }
    for start in 0...(buffer.count - needle.count) where buffer[start] == needle[0] && Array(buffer[start..<start + needle.count]) == needle { return start }
    return nil
  }
}

/// Infinity serving one model directory on loopback, started and stopped by the benchmark.
struct InfinityServer {
  let process = Process()
  let port: Int

  init(executable: String, model: String, port: Int) throws {
    self.port = port
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = ["v2", "--model-id", model, "--port", "\(port)", "--host", "127.0.0.1", "--engine", "torch", "--device", "cpu", "--batch-size", "32", "--dtype", "float32"]
    process.environment = ProcessInfo.processInfo.environment.merging(["HF_HUB_OFFLINE": "1", "INFINITY_ANONYMOUS_USAGE_STATS": "0"]) { $1 }
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
  }

  func waitUntilReady() throws {
    let started = Date()
    while Date().timeIntervalSince(started) < 300 {
      guard process.isRunning else { throw BenchFailure("infinity_emb exited before serving") }
      if let client = try? HTTPClient(port: port), let (status, _) = try? client.post(path: "/embeddings", body: OpenAIBody.make(model: "warm-up", inputs: ["warm up"])), status < 500 { return }
      Thread.sleep(forTimeInterval: 0.5)
    }
    throw BenchFailure("infinity_emb did not serve within 300 s")
  }

  func stop() {
    process.terminate()
    process.waitUntilExit()
  }
}

func freePort() -> Int {
  let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  defer { close(fd) }
  var address = sockaddr_in()
  address.sin_family = sa_family_t(AF_INET)
  address.sin_addr.s_addr = inet_addr("127.0.0.1")
  _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
  var length = socklen_t(MemoryLayout<sockaddr_in>.size)
  _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
  return Int(UInt16(bigEndian: address.sin_port))
}
