import ArgumentParser
import ChorusAPI
import GRPCCore

struct SpacesCommand: ChorusSubcommand {
  static let configuration = CommandConfiguration(
    commandName: "spaces", abstract: "List the spaces chorusd serves: name, dimension, modalities, models.")

  @OptionGroup var connection: ConnectionOptions
  @Flag(help: "Print one JSON object per space.") var json = false

  struct SpaceJSON: Encodable {
    struct EncoderJSON: Encodable {
      var modality: String
      var model_id: String
      var architecture: String
      var fingerprint: String
      var precision: String
      var prompts: [String: String]?
    }
    var name: String
    var dimension: UInt32
    var modalities: [String]
    var encoders: [EncoderJSON]
    var `default`: Bool
  }

  func execute() async throws {
    let response = try await withDaemon(connection) { client in
      try await Chorus_V1_EmbeddingService.Client(wrapping: client).listSpaces(Chorus_V1_ListSpacesRequest())
    }
    if !json && response.spaces.isEmpty {
      print("no spaces are loaded (start chorusd with --model NAME=DIR)")
    }
    for space in response.spaces {
      let isDefault = space.name == response.defaultSpace
      if json {
        printJSONLine(
          SpaceJSON(
            name: space.name, dimension: space.dimension, modalities: space.encoders.map { $0.modality.name },
            encoders: space.encoders.map {
              .init(modality: $0.modality.name, model_id: $0.modelID, architecture: $0.architecture, fingerprint: $0.fingerprint, precision: $0.precision.isEmpty ? "fp32" : $0.precision, prompts: $0.prompts.isEmpty ? nil : $0.prompts)
            },
            default: isDefault))
      } else {
        let modalities = space.encoders.map { $0.modality.name }.joined(separator: "+")
        print("\(space.name)\(isDefault ? " (default)" : "")  \(space.dimension)-d  \(modalities)")
        for encoder in space.encoders {
          print("  \(encoder.modality.name): \(encoder.modelID) [\(encoder.architecture), \(encoder.precision.isEmpty ? "fp32" : encoder.precision)] \(encoder.fingerprint.prefix(12))")
          if !encoder.prompts.isEmpty {
            let names = encoder.prompts.keys.sorted().map { $0 == encoder.defaultPromptName ? "\($0) (default)" : $0 }
            print("    prompts: \(names.joined(separator: ", "))")
          }
        }
      }
    }
  }
}

extension Chorus_V1_Modality {
  /// "text", "image", "audio" (or "unspecified").
  var name: String {
    switch self {
    case .text: "text"
    case .image: "image"
    case .audio: "audio"
    case .unspecified: "unspecified"
    case .UNRECOGNIZED(let value): "modality_\(value)"
    }
  }
}
