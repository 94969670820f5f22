import Encoders
import Media
import Store

/// What a client may know about a space: its name, dimension and one encoder per modality.
public struct SpaceDescription: Sendable, Equatable {
  public struct EncoderDescription: Sendable, Equatable {
    public var modality: Modality
    /// Where the model came from (directory name or hub id).
    public var modelID: String
    /// The network, e.g. "bert", "clip_text".
    public var architecture: String
    /// Hash of weights and preprocessing/head config: part of every cache key.
    public var fingerprint: String
    /// Longest input taken in one piece (tokens for text, seconds for audio, 0 when not applicable).
    public var maxInput: Double
  }

  public var name: String
  public var dimension: Int
  public var encoders: [EncoderDescription]

  public var modalities: [Modality] { encoders.map(\.modality) }
}

/// A loaded space: its encoders and their batchers.
final class Space: Sendable {
  let description: SpaceDescription
  let text: TextPipeline?
  let image: ImagePipeline?

  init(name: String, model: LoadedModel, configuration: EngineConfiguration, cache: VectorCache?) throws {
    var encoders: [SpaceDescription.EncoderDescription] = []
    var dimension: Int?
    if let text = model.text {
      encoders.append(.init(modality: .text, modelID: model.modelID, architecture: text.architecture, fingerprint: model.fingerprint, maxInput: Double(text.maxTokens)))
      dimension = text.dimension
      self.text = TextPipeline(encoder: text, fingerprint: model.fingerprint, label: name, configuration: configuration, cache: cache)
    } else {
      self.text = nil
    }
    if let image = model.image {
      let file = model.directory.appendingPathComponent("preprocessor_config.json")
      let preprocessor: ImagePreprocessor
      do {
        preprocessor = try ImagePreprocessor(configFile: file)
      } catch {
        throw EngineError.modelLoadFailed(name: name, directory: model.directory.path, reason: "\(error)")
      }
      guard let size = preprocessor.outputSize, size.height == image.imageSize, size.width == image.imageSize else {
        throw EngineError.modelLoadFailed(
          name: name, directory: model.directory.path,
          reason: "\(file.path): preprocessing must end in \(image.imageSize)x\(image.imageSize) pixels (the model's image_size); set crop_size or an exact size")
      }
      if let dimension, dimension != image.dimension {
        throw EngineError.modelLoadFailed(name: name, directory: model.directory.path, reason: "the image encoder's dimension \(image.dimension) differs from the text encoder's \(dimension)")
      }
      let pipeline = ImagePipeline(
        encoder: image, preprocessor: preprocessor, modelFingerprint: model.fingerprint, label: name, configuration: configuration, cache: cache)
      encoders.append(.init(modality: .image, modelID: model.modelID, architecture: image.architecture, fingerprint: pipeline.fingerprint, maxInput: 0))
      dimension = dimension ?? image.dimension
      self.image = pipeline
    } else {
      self.image = nil
    }
    guard let dimension else { throw EngineError.modelLoadFailed(name: name, directory: model.modelID, reason: "the model has no encoder Chorus can serve") }
    description = SpaceDescription(name: name, dimension: dimension, encoders: encoders)
  }
}
