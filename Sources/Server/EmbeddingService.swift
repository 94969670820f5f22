import ChorusAPI
import Engine
import GRPCCore

/// `chorus.v1.EmbeddingService`: maps the API onto the engine.
public struct EmbeddingService: Chorus_V1_EmbeddingService.SimpleServiceProtocol {
  private let engine: Engine

  public init(engine: Engine) {
    self.engine = engine
  }

  public func embed(request: Chorus_V1_EmbedRequest, context: ServerContext) async throws -> Chorus_V1_EmbedResponse {
    let space = try RPCError.mapping { try engine.space(named: request.space) }
    throw RPCError(code: .unimplemented, message: "space '\(space.name)' has no encoders in this build; embedding arrives with the inference engine")
  }

  public func listSpaces(request: Chorus_V1_ListSpacesRequest, context: ServerContext) async throws -> Chorus_V1_ListSpacesResponse {
    var response = Chorus_V1_ListSpacesResponse()
    response.defaultSpace = engine.defaultSpace ?? ""
    response.spaces = engine.spaces.map { space in
      var message = Chorus_V1_Space()
      message.name = space.name
      message.dimension = UInt32(space.dimension)
      message.encoders = space.encoders.map { encoder in
        var e = Chorus_V1_Encoder()
        e.modality = Chorus_V1_Modality(encoder.modality)
        e.modelID = encoder.modelID
        e.architecture = encoder.architecture
        e.fingerprint = encoder.fingerprint
        e.maxInput = encoder.maxInput
        return e
      }
      return message
    }
    return response
  }
}
