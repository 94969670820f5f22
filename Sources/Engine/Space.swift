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

    public init(modality: Modality, modelID: String, architecture: String, fingerprint: String, maxInput: Double) {
      self.modality = modality
      self.modelID = modelID
      self.architecture = architecture
      self.fingerprint = fingerprint
      self.maxInput = maxInput
    }
  }

  public var name: String
  public var dimension: Int
  public var encoders: [EncoderDescription]

  public init(name: String, dimension: Int, encoders: [EncoderDescription]) {
    self.name = name
    self.dimension = dimension
    self.encoders = encoders
  }

  public var modalities: [Modality] { encoders.map(\.modality) }
}
