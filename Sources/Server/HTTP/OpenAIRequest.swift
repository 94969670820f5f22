import Engine
import Foundation

/// `POST /v1/embeddings` as OpenAI defines it, parsed and checked. Each problem names the field (and the input's
/// index) in OpenAI's error envelope.
struct OpenAIEmbeddingsRequest {
  enum EncodingFormat: String { case float, base64 }

  /// The space: "" when the request said "default", nothing, or "".
  var space: String
  /// As the request spelt it (echoed in the answer when it named a space).
  var model: String
  var inputs: [EmbedInput]
  var format: EncodingFormat
  var dimensions: Int?

  static let maxInputs = 2048

  init(json bytes: some Collection<UInt8>) throws {
    let value: JSONValue
    do {
      value = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    } catch {
      throw HTTPProblem(.badRequest, "the body is not valid JSON: \(Self.reason(error))")
    }
    guard case .object(let fields) = value else { throw HTTPProblem(.badRequest, "the body must be a JSON object") }

    switch fields["model"] {
    case nil, .null: model = ""
    case .string(let name): model = name
    default: throw HTTPProblem(.badRequest, "'model' must be a string: a space name, or \"default\"", param: "model")
    }
    space = model == "default" ? "" : model

    switch fields["encoding_format"] {
    case nil, .null: format = .float
    case .string(let name):
      guard let parsed = EncodingFormat(rawValue: name) else {
        throw HTTPProblem(.badRequest, "'encoding_format' must be \"float\" or \"base64\", not \"\(name)\"", param: "encoding_format")
      }
      format = parsed
    default: throw HTTPProblem(.badRequest, "'encoding_format' must be \"float\" or \"base64\"", param: "encoding_format")
    }

    switch fields["dimensions"] {
    case nil, .null: dimensions = nil
    case .integer(let count):
      guard count >= 1 else { throw HTTPProblem(.badRequest, "'dimensions' must be at least 1", param: "dimensions") }
      dimensions = count
    default: throw HTTPProblem(.badRequest, "'dimensions' must be a whole number", param: "dimensions")
    }

    switch fields["user"] {
    case nil, .null, .string: break  // accepted and ignored, as the issue and OpenAI's own servers allow
    default: throw HTTPProblem(.badRequest, "'user' must be a string", param: "user")
    }

    guard let input = fields["input"] else { throw HTTPProblem(.badRequest, "'input' is missing: give a string, a list of strings, token ids, or {\"text\"|\"image\"|\"audio\": …} objects", param: "input") }
    inputs = try Self.inputs(input)
  }

  private static func inputs(_ value: JSONValue) throws -> [EmbedInput] {
    switch value {
    case .string(let text):
      guard !text.isEmpty else { throw HTTPProblem(.badRequest, "'input' is an empty string", param: "input") }
      return [.text(text)]
    case .array(let items):
      guard !items.isEmpty else { throw HTTPProblem(.badRequest, "'input' is an empty list", param: "input") }
      guard items.count <= maxInputs else {
        throw HTTPProblem(.badRequest, "'input' has \(items.count) items; at most \(maxInputs) are taken per request", param: "input")
      }
      // A flat list of numbers is one input of token ids, as in OpenAI's API.
      if items.allSatisfy({ if case .integer = $0 { true } else { false } }) {
        return [.tokenIDs(try tokenIDs(items, index: nil))]
      }
      return try items.enumerated().map { index, item in try input(item, index: index) }
    default:
      throw HTTPProblem(.badRequest, "'input' must be a string or a list", param: "input")
    }
  }

  private static func input(_ item: JSONValue, index: Int) throws -> EmbedInput {
    switch item {
    case .string(let text):
      guard !text.isEmpty else { throw HTTPProblem(.badRequest, "input[\(index)] is an empty string", param: "input") }
      return .text(text)
    case .array(let ids):
      guard !ids.isEmpty else { throw HTTPProblem(.badRequest, "input[\(index)] is an empty list of token ids", param: "input") }
      return .tokenIDs(try tokenIDs(ids, index: index))
    case .object(let fields):
      guard fields.count == 1, let (key, content) = fields.first else {
        throw HTTPProblem(.badRequest, "input[\(index)] must have exactly one of \"text\", \"image\" or \"audio\"", param: "input")
      }
      guard case .string(let text) = content else { throw HTTPProblem(.badRequest, "input[\(index)].\(key) must be a string", param: "input") }
      switch key {
      case "text":
        guard !text.isEmpty else { throw HTTPProblem(.badRequest, "input[\(index)].text is an empty string", param: "input") }
        return .text(text)
      case "image": return .image(try MediaPayload.decode(text, modality: .image, index: index))
      case "audio": return .audio(try MediaPayload.decode(text, modality: .audio, index: index))
      default:
        throw HTTPProblem(.badRequest, "input[\(index)] has '\(key)'; use \"text\", \"image\" or \"audio\"", param: "input")
      }
    default:
      throw HTTPProblem(.badRequest, "input[\(index)] must be a string, a list of token ids or an object", param: "input")
    }
  }

  private static func tokenIDs(_ items: [JSONValue], index: Int?) throws -> [Int32] {
    let name = index.map { "input[\($0)]" } ?? "input"
    return try items.enumerated().map { position, item in
      guard case .integer(let id) = item, let id32 = Int32(exactly: id), id32 >= 0 else {
        throw HTTPProblem(.badRequest, "\(name)[\(position)] is not a token id (a whole number from 0)", param: "input")
      }
      return id32
    }
  }

  private static func reason(_ error: any Error) -> String {
    switch error {
    case DecodingError.dataCorrupted(let context): context.debugDescription
    default: "\(error)"
    }
  }
}

/// Base64 or a `data:` URL carrying an image or a clip. The bytes' format is told later from the bytes themselves
/// (as for gRPC); a data: URL's declared type must at least be one the daemon decodes.
enum MediaPayload {
  static let imageTypes: Set<String> = ["image/jpeg", "image/jpg", "image/png"]
  static let audioTypes: Set<String> = [
    "audio/wav", "audio/wave", "audio/x-wav", "audio/vnd.wave", "audio/flac", "audio/x-flac", "audio/ogg", "audio/mpeg", "audio/mp3",
  ]

  static func decode(_ text: String, modality: Modality, index: Int) throws -> Data {
    let field = "input[\(index)].\(modality.rawValue)"
    var payload = Substring(text)
    if text.hasPrefix("data:") {
      guard let comma = text.firstIndex(of: ",") else { throw HTTPProblem(.badRequest, "\(field): the data: URL has no ','", param: "input") }
      let header = text[text.index(text.startIndex, offsetBy: 5)..<comma].lowercased()
      let parts = header.split(separator: ";").map(String.init)
      let type = parts.first ?? ""
      let accepted = modality == .image ? imageTypes : audioTypes
      guard accepted.contains(type) else {
        throw HTTPProblem(
          .badRequest, "\(field): the data: URL's type '\(type)' is not one this daemon decodes (\(accepted.sorted().joined(separator: ", ")))",
          param: "input")
      }
      guard parts.contains("base64") else { throw HTTPProblem(.badRequest, "\(field): only base64 data: URLs are taken (…;base64,…)", param: "input") }
      payload = text[text.index(after: comma)...]
    }
    guard let data = Data(base64Encoded: String(payload)), !data.isEmpty else {
      throw HTTPProblem(.badRequest, "\(field) is not valid base64 (standard alphabet, padded)", param: "input")
    }
    return data
  }
}

/// Any JSON value, keeping whole numbers apart from others so token ids are recognised exactly.
enum JSONValue: Decodable {
  case null, bool(Bool), integer(Int), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

  init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    if container.decodeNil() {
      self = .null
    } else if let value = try? container.decode(Bool.self) {
      self = .bool(value)
    } else if let value = try? container.decode(Int.self) {
      self = .integer(value)
    } else if let value = try? container.decode(Double.self) {
      self = .number(value)
    } else if let value = try? container.decode(String.self) {
      self = .string(value)
    } else if let value = try? container.decode([JSONValue].self) {
      self = .array(value)
    } else {
      self = .object(try container.decode([String: JSONValue].self))
    }
  }
}
