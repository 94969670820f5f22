import Foundation
import Hashing
import Store

/// One input of an embed request, as the transport hands it over.
public enum EmbedInput: Sendable {
  case text(String)
  case image(Data)
  case audio(Data)
  /// A file on the daemon's host; `modality` nil means "tell by content".
  case file(path: String, modality: Modality?)
  /// Token ids for a text encoder, used as given (no special tokens added).
  case tokenIDs([Int32])
}

/// What a text encoder is given: a string to tokenize, or token ids already made.
enum TextInput: Sendable {
  case string(String)
  case tokenIDs([Int32])

  /// Hex SHA-256 of the UTF-8 text; for token ids, of their little-endian int32 bytes after a prefix no UTF-8 text
  /// can start with (0xFF), so the two kinds never share a cache entry.
  var contentHash: String {
    switch self {
    case .string(let text): return SHA256Hasher.hexDigest(of: Data(text.utf8))
    case .tokenIDs(let ids):
      var bytes = Data([0xFF])
      bytes.reserveCapacity(1 + ids.count * 4)
      for id in ids { withUnsafeBytes(of: id.littleEndian) { bytes.append(contentsOf: $0) } }
      return SHA256Hasher.hexDigest(of: bytes)
    }
  }
}

public struct EmbedOptions: Sendable {
  /// Skip the final L2 normalisation.
  public var raw = false
  /// Over-long text is an error instead of being truncated.
  public var failOnTruncation = false
  public var segments = false
  public var bypassCache = false
  /// Also count the tokens of texts found in the cache (`EmbeddingOutput.tokens`; computed texts always have it).
  public var countTokens = false
  /// Make a preview of each input to keep beside its vector (`EmbeddingOutput.preview`): a text's opening, an
  /// image's thumbnail, a clip's first seconds.
  public var previews = false
  /// Text: keep the first N components, L2-normalised again (Matryoshka); nil for all.
  public var dimensions: Int?
  /// Text: one of the model's prompts by name, or a literal prompt, put before each text.
  public var promptName: String?
  public var prompt: String?
  /// Text: embed a long text as overlapping windows and return their weighted mean instead of truncating it.
  public var chunking = false
  public var chunkOverlapTokens = 32
  /// With chunking: also return every window's vector and span.
  public var returnChunks = false
  /// Text: also return every token's contextual vector.
  public var tokenEmbeddings = false

  /// Whether any text-only option is set (they are refused for other inputs).
  var hasTextOptions: Bool { dimensions != nil || promptName != nil || prompt != nil || chunking || tokenEmbeddings }

  public init(
    raw: Bool = false, failOnTruncation: Bool = false, segments: Bool = false, bypassCache: Bool = false, countTokens: Bool = false, previews: Bool = false
  ) {
    self.countTokens = countTokens
    self.previews = previews
    self.raw = raw
    self.failOnTruncation = failOnTruncation
    self.segments = segments
    self.bypassCache = bypassCache
  }
}

/// The vector of one input.
public struct EmbeddingOutput: Sendable, Equatable {
  public var modality: Modality
  public var vector: [Float]
  public var cached: Bool
  public var truncated: Bool
  /// Hex SHA-256 of the input's bytes (UTF-8 for text).
  public var contentHash: String
  /// Per-window vectors of a long audio clip, when asked for.
  public var segments: [AudioSegment] = []
  /// Tokens the text encoder ran (special tokens included); 0 for other modalities, and for cached texts unless
  /// `EmbedOptions.countTokens` asked.
  public var tokens: Int = 0
  /// Asked for with `EmbedOptions.previews`; nil when the input has none (token ids, an image the encoder could
  /// not shrink).
  public var preview: ItemPreview?
  /// With `EmbedOptions.chunking` and `returnChunks`: each window of the text.
  public var chunks: [TextChunk] = []
  /// With `EmbedOptions.tokenEmbeddings`: every token the model saw, in order.
  public var tokenVectors: [TokenVector] = []

  public init(
    modality: Modality, vector: [Float], cached: Bool, truncated: Bool, contentHash: String, segments: [AudioSegment] = [], tokens: Int = 0
  ) {
    self.modality = modality
    self.vector = vector
    self.cached = cached
    self.truncated = truncated
    self.contentHash = contentHash
    self.segments = segments
    self.tokens = tokens
  }
}

/// What a person sees of an input in a list of hits is the store's `ItemPreview`: previews are kept with items.
extension ItemPreview {
  /// Characters of a text kept as its preview.
  public static let textCharacters = 500

  static func text(_ text: String) -> ItemPreview {
    ItemPreview(mediaType: "text/plain; charset=utf-8", data: Data(String(text.prefix(textCharacters)).utf8))
  }
}

/// One window of a chunked text; offsets in code points of the text, end exclusive.
public struct TextChunk: Sendable, Equatable {
  public var start: Int
  public var end: Int
  public var vector: [Float]
}

/// One token's contextual vector.
public struct TokenVector: Sendable, Equatable {
  public var id: Int32
  public var text: String
  /// Code points of the text, end exclusive; 0..<0 for special tokens (and for token-id inputs).
  public var start: Int
  public var end: Int
  public var vector: [Float]
}

/// One window of a long audio clip.
public struct AudioSegment: Sendable, Equatable {
  public var startSeconds: Double
  public var endSeconds: Double
  public var vector: [Float]
}

/// Why one input of a batch got no vector; the rest of the batch is unaffected.
public struct InputError: Error, Sendable, Equatable, CustomStringConvertible {
  public enum Kind: Sendable, Equatable {
    case invalidArgument, notFound, permissionDenied, resourceExhausted, internalError
  }
  public var kind: Kind
  public var message: String
  public var description: String { message }

  public init(_ kind: Kind, _ message: String) {
    self.kind = kind
    self.message = message
  }
}

/// Limits and batching knobs of the engine.
public struct EngineConfiguration: Sendable {
  /// Most inputs one batch runs at once.
  public var maxBatchSize: Int
  /// How long a request that finds the encoder idle waits for company before running, in microseconds
  /// (0: run at once; batches still form from requests that arrive while one runs).
  public var maxBatchWaitMicroseconds: Int
  /// Text longer than this many UTF-8 bytes is refused before tokenizing.
  public var maxTextBytes: Int
  /// Images with more pixels than this are refused from their header, before decoding.
  public var maxImagePixels: Int
  /// Turn JPEGs upright by their EXIF orientation before preprocessing.
  public var applyEXIFOrientation: Bool
  /// Largest server-side file (`Input.file`) the daemon reads.
  public var maxFileBytes: Int
  /// Audio clips longer than this are refused (RESOURCE_EXHAUSTED), from the header when it states the length.
  public var maxAudioSeconds: Double
  /// Overlap of consecutive windows of a clip longer than the model's window, in seconds.
  public var audioWindowOverlapSeconds: Double
  /// Most inputs one encoder's queue holds (admitted, not yet started); more are refused with `overloaded`.
  public var maxQueuedInputs: Int
  /// Where server-side files may be read for callers; none by default.
  public var fileRoots: FileRoots

  public init(
    maxBatchSize: Int = 32, maxBatchWaitMicroseconds: Int = 0, maxTextBytes: Int = 65536, maxImagePixels: Int = 50_000_000,
    applyEXIFOrientation: Bool = true, maxFileBytes: Int = 256 << 20, maxAudioSeconds: Double = 7200, audioWindowOverlapSeconds: Double = 5,
    maxQueuedInputs: Int? = nil, fileRoots: FileRoots = .none
  ) {
    self.maxQueuedInputs = maxQueuedInputs ?? Self.defaultQueuedInputs(maxBatchSize: maxBatchSize)
    self.fileRoots = fileRoots
    self.maxAudioSeconds = maxAudioSeconds
    self.audioWindowOverlapSeconds = audioWindowOverlapSeconds
    self.maxBatchSize = maxBatchSize
    self.maxBatchWaitMicroseconds = maxBatchWaitMicroseconds
    self.maxTextBytes = maxTextBytes
    self.maxImagePixels = maxImagePixels
    self.applyEXIFOrientation = applyEXIFOrientation
    self.maxFileBytes = maxFileBytes
  }

  /// Eight batches: enough to keep the encoder busy while the next requests are decoded, short enough that a
  /// queued request waits a few batch times, not minutes.
  public static func defaultQueuedInputs(maxBatchSize: Int) -> Int { 8 * max(1, maxBatchSize) }
}
