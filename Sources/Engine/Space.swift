import Encoders
import Tensor
import Foundation
import Hashing
import Media
import Store

/// What a client may know about a space: its name, dimension and one encoder per modality.
public struct SpaceDescription: Sendable, Equatable {
  public struct EncoderDescription: Sendable, Equatable {
    public var modality: Modality
    /// Where the model came from (directory name or hub id).
    public var modelID: String
    /// The network, e.g. "bert", "clip_text", "efficientnet_lite+conse".
    public var architecture: String
    /// Hash of weights and preprocessing/head config: part of every cache key.
    public var fingerprint: String
    /// Longest input taken in one piece (tokens for text, seconds for audio, 0 when not applicable).
    public var maxInput: Double
    /// A text encoder's prompts by name, and the one used when a request names none.
    public var prompts: [String: String] = [:]
    public var defaultPromptName: String?
    /// What its linear layers compute in: fp32, bf16 or int8 (`--precision`).
    public var precision: Precision = .fp32
  }

  public var name: String
  public var dimension: Int
  public var encoders: [EncoderDescription]

  public var modalities: [Modality] { encoders.map(\.modality) }
}

/// A loaded space: its encoders and their pipelines. Its models may come from several directories, at most one
/// encoder per modality, all of one dimension.
final class Space: Sendable {
  let description: SpaceDescription
  let text: TextPipeline?
  let image: ImagePipeline?
  let audio: AudioPipeline?
  /// Zero-shot heads by input modality: present where that modality's tower and the text tower are the two towers
  /// of one checkpoint that learned a temperature (CLIP, SigLIP, CLAP).
  let zeroShot: [Modality: ZeroShotHead]

  init(name: String, models: [LoadedModel], configuration: EngineConfiguration, cache: VectorCache?) throws {
    func failure(_ model: LoadedModel?, _ reason: String) -> EngineError {
      .modelLoadFailed(name: name, directory: model?.directory.path ?? "(no model)", reason: reason)
    }
    let texts = models.filter { $0.text != nil }, images = models.filter { $0.image != nil }, audios = models.filter { $0.audio != nil }
    guard texts.count <= 1, images.count <= 1, audios.count <= 1 else {
      throw failure(models.last, "a space takes at most one encoder per modality; these directories bring two for one modality")
    }
    var encoders: [SpaceDescription.EncoderDescription] = []
    var text: TextPipeline?
    if let model = texts.first, let encoder = model.text {
      text = TextPipeline(encoder: encoder, fingerprint: model.fingerprint, label: name, configuration: configuration, cache: cache)
      encoders.append(
        .init(
          modality: .text, modelID: model.modelID, architecture: encoder.architecture, fingerprint: model.fingerprint, maxInput: Double(encoder.maxTokens),
          prompts: encoder.prompts, defaultPromptName: encoder.defaultPromptName, precision: model.precision))
    }
    var image: ImagePipeline?
    if let model = images.first, let encoder = model.image {
      let file = model.directory.appendingPathComponent("preprocessor_config.json")
      let preprocessor: ImagePreprocessor
      do {
        preprocessor = try ImagePreprocessor(configFile: file)
      } catch {
        throw failure(model, "\(error)")
      }
      guard let size = preprocessor.outputSize, size.height == encoder.imageSize, size.width == encoder.imageSize else {
        throw failure(
          model, "\(file.path): preprocessing must end in \(encoder.imageSize)x\(encoder.imageSize) pixels (the model's image_size); set crop_size or an exact size")
      }
      var head: LabelSpace?
      var fingerprint = model.fingerprint, architecture = encoder.architecture
      if let labelHead = model.labelHead {
        // The head's vectors live in the text encoder's space, so they depend on it too.
        guard let text, let textModel = texts.first else {
          throw failure(model, "its ConSE head maps images into a text space: the space needs a text model too")
        }
        head = LabelSpace(head: labelHead, text: text)
        var hasher = SHA256Hasher()
        hasher.update("\(model.fingerprint)\nconse over \(textModel.fingerprint)\n")
        fingerprint = hasher.hexDigest()
        architecture += "+conse"
      }
      let pipeline = ImagePipeline(
        encoder: encoder, head: head, preprocessor: preprocessor, modelFingerprint: fingerprint, label: name, configuration: configuration,
        cache: cache)
      encoders.append(.init(modality: .image, modelID: model.modelID, architecture: architecture, fingerprint: pipeline.fingerprint, maxInput: 0, precision: model.precision))
      image = pipeline
    }
    var audio: AudioPipeline?
    if let model = audios.first, let encoder = model.audio {
      let file = model.directory.appendingPathComponent("preprocessor_config.json")
      let features: any AudioFrontEnd
      do {
        features = try AudioFrontEnds.load(configFile: file, fallback: encoder.architecture == "whisper_encoder" ? "whisper" : "ast")
      } catch {
        throw failure(model, "\(error)")
      }
      guard features.featureShape == encoder.featureShape else {
        throw failure(model, "\(file.path): the features (\(features.featureShape)) do not fit the encoder (\(encoder.featureShape))")
      }
      let pipeline = AudioPipeline(
        encoder: encoder, projection: model.audioProjection, features: features, modelFingerprint: model.fingerprint, label: name,
        configuration: configuration, cache: cache)
      let architecture = encoder.architecture + (model.audioProjection == nil ? "" : "+projection")
      encoders.append(
        .init(modality: .audio, modelID: model.modelID, architecture: architecture, fingerprint: pipeline.fingerprint, maxInput: pipeline.maxInputSeconds, precision: model.precision))
      audio = pipeline
    }
    let dimensions = Set(
      [text?.encoder.dimension, image.map { $0.head == nil ? $0.encoder.dimension : text!.encoder.dimension }, audio?.dimension].compactMap { $0 })
    guard let dimension = dimensions.first else { throw failure(models.first, "the model has no encoder Chorus can serve") }
    guard dimensions.count == 1 else { throw failure(models.last, "the encoders' dimensions differ (\(dimensions.sorted()))") }
    self.text = text
    self.image = image
    self.audio = audio
    var heads: [Modality: ZeroShotHead] = [:]
    if let model = texts.first, let head = model.zeroShot {
      if images.first?.directory == model.directory { heads[.image] = head }
      if audios.first?.directory == model.directory { heads[.audio] = head }
    }
    zeroShot = heads
    description = SpaceDescription(name: name, dimension: dimension, encoders: encoders)
  }
}
