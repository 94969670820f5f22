import Foundation
import Hashing
import Tensor

/// What a Hugging Face model directory provides: one encoder per modality it covers.
public struct LoadedModel: Sendable {
  public var text: (any TextEncoder)?
  public var image: (any ImageEncoder)?
  public var audio: (any AudioEncoder)?
  /// A trained map from the audio encoder's space into a text space (projection.safetensors), if the directory has one.
  public var audioProjection: ProjectionHead?
  /// For a classifier, how its class scores become vectors of a text space (ConSE).
  public var labelHead: LabelHead?
  /// How cosines with labels become probabilities, when the checkpoint learned a temperature (CLIP, SigLIP, CLAP).
  public var zeroShot: ZeroShotHead?
  /// The directory it came from (preprocessing files live there).
  public var directory: URL
  /// SHA-256 of the weights and of every file that shapes preprocessing and the head.
  public var fingerprint: String
  public var modelID: String
  /// What its linear layers compute in (`--precision`).
  public var precision: Precision = .fp32
}

/// Loads a model directory as published; the architecture comes from config.json's `model_type`.
public enum ModelDirectory {
  public static let supportedModelTypes = [
    "audio-spectrogram-transformer", "bert", "clap", "clip", "efficientnet_lite", "modernbert", "mpnet", "qwen3", "roberta", "siglip", "whisper", "xlm-roberta",
  ]

  /// Loads the model with its linear layers in `precision`; a precision this CPU cannot compute stops the load with
  /// the reason. The fingerprint of a bf16 or int8 model differs from fp32's (and int8's with the weights' bit
  /// width, 8 with VNNI, 7 without), so cached vectors of one are never served for another.
  public static func load(_ path: String, precision: Precision = .fp32) throws -> LoadedModel {
    if let reason = precision.unsupportedReason {
      let choices = Precision.allCases.filter { $0.unsupportedReason == nil }.map(\.rawValue).joined(separator: ", ")
      throw CheckpointError("precision \(precision) (--precision / [precision]) cannot be served: \(reason) (choices on this CPU: \(choices))")
    }
    var model = try LoadingPrecision.$current.withValue(precision) { try load(path) }
    model.precision = precision
    switch precision {
    case .fp32: break
    case .bf16: model.fingerprint = SHA256Hasher.hexDigest(of: Data((model.fingerprint + " bf16").utf8))
    case .int8: model.fingerprint = SHA256Hasher.hexDigest(of: Data((model.fingerprint + " int8 w\(Precision.int8WeightBits)").utf8))
    }
    return model
  }

  private static func load(_ path: String) throws -> LoadedModel {
    let directory = URL(fileURLWithPath: path).standardizedFileURL
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
      throw CheckpointError("\(directory.path): not a directory")
    }
    let config = try ModelConfig(directory: directory)
    let modelType = try config.string("model_type")
    let weightsPath = directory.appendingPathComponent("model.safetensors").path
    guard FileManager.default.fileExists(atPath: weightsPath) else {
      throw CheckpointError("\(weightsPath): missing (Chorus reads safetensors checkpoints)")
    }
    let checkpoint = try SafeTensorsFile(path: weightsPath)
    var model = LoadedModel(text: nil, image: nil, audio: nil, audioProjection: nil, labelHead: nil, zeroShot: nil, directory: directory, fingerprint: try fingerprint(directory), modelID: directory.lastPathComponent)
    switch modelType {
    case "bert":
      model.text = try SentenceTransformer(directory: directory, architecture: modelType, backbone: BertModel(config: config, checkpoint: checkpoint))
    case "roberta", "xlm-roberta":
      let offset = try config.int("pad_token_id", default: 1) + 1
      model.text = try SentenceTransformer(
        directory: directory, architecture: modelType, backbone: BertModel(config: config, checkpoint: checkpoint, positionOffset: offset))
    case "mpnet":
      model.text = try SentenceTransformer(directory: directory, architecture: modelType, backbone: MPNetModel(config: config, checkpoint: checkpoint))
    case "modernbert":
      model.text = try SentenceTransformer(directory: directory, architecture: modelType, backbone: ModernBertModel(config: config, checkpoint: checkpoint))
    case "qwen3":
      model.text = try SentenceTransformer(directory: directory, architecture: modelType, backbone: Qwen3Model(config: config, checkpoint: checkpoint))
    case "clip":
      model.text = try CLIPTextEncoder(directory: directory, config: config, checkpoint: checkpoint)
      model.image = try CLIPVisionEncoder(config: config, checkpoint: checkpoint)
      model.zeroShot = try ZeroShotHead(checkpoint: checkpoint, rule: .softmax)
    case "siglip":
      model.text = try SiglipTextEncoder(directory: directory, config: config, checkpoint: checkpoint)
      model.image = try SiglipVisionEncoder(config: config, checkpoint: checkpoint)
      model.zeroShot = try ZeroShotHead(checkpoint: checkpoint, rule: .sigmoid)
    case "siglip2":
      throw CheckpointError(
        "\(config.url.path): model_type 'siglip2' is SigLIP 2's NaFlex variant (variable resolution), which Chorus does not run; the fixed-resolution SigLIP 2 checkpoints (model_type 'siglip') load")
    case "clap":
      model.text = try ClapTextEncoder(directory: directory, config: config, checkpoint: checkpoint)
      model.audio = try HTSATEncoder(config: config, checkpoint: checkpoint, preprocessor: ModelConfig(directory: directory, file: "preprocessor_config.json"))
      // ClapModel's logits_per_audio: audio · text · exp(logit_scale_a).
      model.zeroShot = try ZeroShotHead(checkpoint: checkpoint, rule: .softmax, scaleName: "logit_scale_a")
    case "efficientnet_lite":
      let classifier = try EfficientNetLiteClassifier(config: config, checkpoint: checkpoint)
      model.image = classifier
      model.labelHead = try LabelHead(config: config, directory: directory, classes: classifier.dimension)
    case "whisper":
      model.audio = try WhisperEncoder(config: config, checkpoint: checkpoint)
    case "audio-spectrogram-transformer":
      model.audio = try ASTEncoder(config: config, checkpoint: checkpoint)
    default:
      throw CheckpointError("\(config.url.path): model_type '\(modelType)' is not supported (supported: \(supportedModelTypes.joined(separator: ", ")))")
    }
    if let audio = model.audio {
      model.audioProjection = try ProjectionHead(directory: directory, inputDimension: audio.dimension)
    }
    return model
  }

  /// Hash of the weights (and a projection head's) plus every JSON/text file of the directory and its module
  /// folders, so that a change to preprocessing, tokenizer or head config changes the fingerprint too.
  static func fingerprint(_ directory: URL) throws -> String {
    var hasher = SHA256Hasher()
    hasher.update("chorus-fingerprint-v1\n")
    hasher.update(try SHA256Hasher.hexDigest(ofFile: directory.appendingPathComponent("model.safetensors").path))
    // A trained head's weights change the vectors too.
    let projection = directory.appendingPathComponent("projection.safetensors").path
    if FileManager.default.fileExists(atPath: projection) { hasher.update("projection " + (try SHA256Hasher.hexDigest(ofFile: projection))) }
    let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil)
    var files: [URL] = []
    while let url = enumerator?.nextObject() as? URL {
      if ["json", "txt", "model"].contains(url.pathExtension) { files.append(url) }  // .model: SentencePiece
    }
    for url in files.sorted(by: { $0.path < $1.path }) {
      hasher.update(String(url.path.dropFirst(directory.path.count)) + "\n")
      hasher.update(try Data(contentsOf: url))
    }
    return hasher.hexDigest()
  }
}
