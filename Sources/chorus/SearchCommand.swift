import ArgumentParser
import ChorusAPI
import Foundation
import GRPCCore

struct SearchCommand: ChorusSubcommand {
  static let configuration = CommandConfiguration(
    commandName: "search", abstract: "Find a collection's nearest items to a text, image, audio file, vector or item.")

  @OptionGroup var connection: ConnectionOptions
  @Argument(help: "The collection to search.") var collection: String
  @Option(help: "Query text.") var text: String?
  @Option(help: "Query image file.") var image: String?
  @Option(help: "Query audio file.") var audio: String?
  @Option(help: "File with the query vector (a JSON array or whitespace-separated numbers).") var vectorFile: String?
  @Option(help: "Search near an item already in the collection.") var like: String?
  @Option(help: "Number of hits.") var k: Int = 10
  @Option(help: "Keep only items whose metadata has key=value (repeatable, all must hold).") var `where`: [String] = []
  @Flag(help: "Print one JSON object per hit.") var json = false

  struct HitJSON: Encodable {
    var id: String
    var score: Float
    var modality: String
    var metadata: [String: String]
    var source: String
  }

  func validate() throws {
    let given = [text != nil, image != nil, audio != nil, vectorFile != nil, like != nil].filter { $0 }.count
    guard given == 1 else { throw ValidationError("give exactly one of --text, --image, --audio, --vector-file, --like") }
    guard k >= 1 else { throw ValidationError("--k must be at least 1") }
    for pair in `where` where Self.pair(pair) == nil {
      throw ValidationError("--where takes key=value with a non-empty key, not '\(pair)'")
    }
  }

  static func pair(_ text: String) -> (String, String)? {
    guard let equals = text.firstIndex(of: "="), equals != text.startIndex else { return nil }
    return (String(text[..<equals]), String(text[text.index(after: equals)...]))
  }

  func execute() async throws {
    var request = Chorus_V1_SearchRequest()
    request.collection = collection
    request.k = UInt32(k)
    for pair in `where` {
      let (key, value) = Self.pair(pair)!
      request.filter.metadataEquals[key] = value
    }
    if let text { request.content = .with { $0.text = text } }
    if let image { request.content = .with { $0.image = Self.read(image) } }
    if let audio { request.content = .with { $0.audio = Self.read(audio) } }
    if let like { request.likeID = like }
    if let vectorFile { request.vector = .with { $0.values = Self.vector(vectorFile) } }
    let response = try await callDaemon(connection) { client in
      try await Chorus_V1_CollectionService.Client(wrapping: client).search(request)
    }
    for hit in response.hits {
      if json {
        printJSONLine(HitJSON(id: hit.id, score: hit.score, modality: hit.modality.name, metadata: hit.metadata, source: hit.source))
      } else {
        print(String(format: "%.4f  ", hit.score) + "\(hit.id)  [\(hit.modality.name)]" + (hit.source.isEmpty ? "" : "  \(hit.source)"))
      }
    }
  }

  static func read(_ path: String) -> Data {
    guard let data = FileManager.default.contents(atPath: path) else {
      CLIFailure(message: "cannot read \(path)", exitCode: 2).report()
    }
    return data
  }

  static func vector(_ path: String) -> [Float] {
    let text = String(decoding: read(path), as: UTF8.self)
    if let array = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [NSNumber] { return array.map(\.floatValue) }
    let numbers = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "," || $0 == "\t" }).map { Float($0) }
    guard !numbers.isEmpty, numbers.allSatisfy({ $0 != nil }) else {
      CLIFailure(message: "\(path) holds no vector (a JSON array or whitespace-separated numbers)", exitCode: 2).report()
    }
    return numbers.map { $0! }
  }
}
