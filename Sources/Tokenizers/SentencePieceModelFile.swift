import Foundation

/// The parts of a SentencePiece `.model` file (a `ModelProto` protobuf) that transformers' converters read: the
/// pieces with their scores and types, the model type, and the normalizer's precompiled charsmap. Read with a
/// small wire-format reader: the file is a handful of length-delimited fields.
struct SentencePieceModelFile {
  struct Piece {
    var text: String
    var score: Double
    /// ModelProto.SentencePiece.Type: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.
    var type = 1
  }

  var pieces: [Piece] = []
  /// TrainerSpec.model_type: 1 unigram, 2 BPE, 3 word, 4 char.
  var modelType = 1
  var precompiledCharsMap = Data()

  init(_ data: Data) throws {
    var reader = WireReader(bytes: [UInt8](data))
    while let (field, value) = try reader.next() {
      switch (field, value) {
      case (1, .bytes(let bytes)):
        var inner = WireReader(bytes: bytes)
        var piece = Piece(text: "", score: 0)
        while let (f, v) = try inner.next() {
          if f == 1, case .bytes(let text) = v { piece.text = String(decoding: text, as: UTF8.self) }
          if f == 2, case .fixed32(let bits) = v { piece.score = Double(Float(bitPattern: bits)) }
          if f == 3, case .varint(let type) = v { piece.type = Int(type) }
        }
        pieces.append(piece)
      case (2, .bytes(let bytes)):
        var inner = WireReader(bytes: bytes)
        while let (f, v) = try inner.next() {
          if f == 3, case .varint(let type) = v { modelType = Int(type) }
        }
      case (3, .bytes(let bytes)):
        var inner = WireReader(bytes: bytes)
        while let (f, v) = try inner.next() {
          if f == 2, case .bytes(let map) = v { precompiledCharsMap = Data(map) }
        }
      default:
        continue
      }
    }
    guard !pieces.isEmpty else { throw TokenizerError("the SentencePiece model has no pieces") }
  }

  enum WireValue {
    case varint(UInt64)
    case fixed64(UInt64)
    case bytes([UInt8])
    case fixed32(UInt32)
  }

  struct WireReader {
    let bytes: [UInt8]
    var position = 0

    mutating func varint() throws -> UInt64 {
      var result: UInt64 = 0, shift: UInt64 = 0
      while true {
        guard position < bytes.count, shift < 64 else { throw TokenizerError("the SentencePiece model is truncated or corrupt") }
        let byte = bytes[position]
        position += 1
        result |= UInt64(byte & 0x7F) << shift
        if byte & 0x80 == 0 { return result }
        shift += 7
      }
    }

    mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
      guard count >= 0, position + count <= bytes.count else { throw TokenizerError("the SentencePiece model is truncated or corrupt") }
      defer { position += count }
      return bytes[position..<position + count]
    }

    mutating func next() throws -> (Int, WireValue)? {
      guard position < bytes.count else { return nil }
      let key = try varint()
      switch key & 7 {
      case 0: return (Int(key >> 3), .varint(try varint()))
      case 1: return (Int(key >> 3), .fixed64(try take(8).reversed().reduce(0) { $0 << 8 | UInt64($1) }))
      case 2: return (Int(key >> 3), .bytes(Array(try take(Int(try varint())))))
      case 5: return (Int(key >> 3), .fixed32(try take(4).reversed().reduce(0) { $0 << 8 | UInt32($1) }))
      default: throw TokenizerError("the SentencePiece model has an unknown wire type \(key & 7)")
      }
    }
  }
}

extension LegacyTokenizerFiles {
  /// XLM-RoBERTa's `sentencepiece.bpe.model`, converted as transformers' XLMRobertaConverter does: fairseq's
  /// <s> <pad> </s> <unk> first, the model's pieces from the fourth on, <mask> last; the charsmap as the normalizer;
  /// WhitespaceSplit then Metaspace; <s> $A </s>.
  static func xlmRobertaSentencePiece(model url: URL) throws -> TokenizerDescription {
    guard let data = FileManager.default.contents(atPath: url.path) else { throw TokenizerError("\(url.lastPathComponent) is not readable") }
    let file = try SentencePieceModelFile(data)
    guard file.modelType == 1 else { throw TokenizerError("\(url.lastPathComponent): SentencePiece model type \(file.modelType) is not the Unigram model XLM-RoBERTa uses") }
    var pieces: [[Any]] = [["<s>", 0.0], ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0]]
    pieces += file.pieces.dropFirst(3).map { [$0.text, $0.score] }
    pieces.append(["<mask>", 0.0])
    let specials: [[String: Any]] = [("<s>", 0), ("<pad>", 1), ("</s>", 2), ("<unk>", 3), ("<mask>", pieces.count - 1)].map {
      ["id": NSNumber(value: $0.1), "content": $0.0, "special": true, "normalized": false]
    }
    var description: [String: Any] = [
      "added_tokens": specials,
      "pre_tokenizer": ["type": "Sequence", "pretokenizers": [["type": "WhitespaceSplit"], ["type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true]]],
      "model": ["type": "Unigram", "unk_id": NSNumber(value: 3), "vocab": pieces, "byte_fallback": false],
      "post_processor": [
        "type": "TemplateProcessing",
        "single": [["SpecialToken": ["id": "<s>", "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]], ["SpecialToken": ["id": "</s>", "type_id": 0]]],
      ],
    ]
    if !file.precompiledCharsMap.isEmpty {
      description["normalizer"] = ["type": "Precompiled", "precompiled_charsmap": file.precompiledCharsMap.base64EncodedString()]
    }
    return TokenizerDescription(description, vocabulary: nil)
  }
}

extension LegacyTokenizerFiles {
  /// SigLIP's `spiece.model` as transformers' (slow, SentencePiece-run) `SiglipTokenizer` applies it, written as
  /// tokenizer.json components so the one engine runs it. The slow tokenizer puts "▁" before the text, then
  /// canonicalizes it — lower case (`do_lower_case`), ASCII punctuation removed, every run of Python whitespace one
  /// space, whitespace at the ends stripped (the leading "▁" shields one leading space) — and encodes
  /// "<unk>" + text with SentencePiece, dropping the pieces "<unk>" alone gives: the text segmented at "▁" with no
  /// dummy prefix of its own. Then `$A </s>`.
///
/// One known difference: when two segmentations of a word score exactly the same in real arithmetic (runs of one
/// letter: "xx"+"x…x" or "x…x"+"xx"), SentencePiece picks by Float rounding of the whole sentence's running
/// score, "<unk>" prefix included; Chorus picks as the `tokenizers` crate does. Same pieces, same count.
  static func siglipSentencePiece(model url: URL, settings: [String: Any]) throws -> TokenizerDescription {
    guard let data = FileManager.default.contents(atPath: url.path) else { throw TokenizerError("\(url.lastPathComponent) is not readable") }
    let file = try SentencePieceModelFile(data)
    guard file.modelType == 1 else { throw TokenizerError("\(url.lastPathComponent): SentencePiece model type \(file.modelType) is not the Unigram model SigLIP uses") }
    guard let unknown = file.pieces.firstIndex(where: { $0.type == 2 }) else { throw TokenizerError("\(url.lastPathComponent): no unknown piece") }
    let eos = token(settings, "eos_token", "</s>")
    guard let eosID = file.pieces.firstIndex(where: { $0.text == eos }) else { throw TokenizerError("\(url.lastPathComponent): no '\(eos)' piece (eos_token)") }
    // Control and unknown pieces are never read from a caller's text.
    let specials: [[String: Any]] = file.pieces.enumerated().filter { [2, 3].contains($0.element.type) }.map {
      ["id": NSNumber(value: $0.offset), "content": $0.element.text, "special": true, "normalized": false]
    }
    let pythonWhitespace = "[\\t\\n\\x{0B}\\x{0C}\\r\\x{1C}-\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}]+"
    var normalizers: [[String: Any]] = [["type": "Replace", "pattern": ["String": "▁"], "content": " "]]
    if settings["do_lower_case"] as? Bool ?? true { normalizers.append(["type": "Lowercase", "chorus_final_sigma": true]) }
    normalizers += [
      ["type": "Replace", "pattern": ["Regex": "[!-/:-@\\[-`{-~]"], "content": ""],  // Python's string.punctuation
      ["type": "Replace", "pattern": ["Regex": pythonWhitespace], "content": " "],
      ["type": "Strip", "strip_left": false, "strip_right": true],
      ["type": "Prepend", "prepend": "▁"],
    ]
    if !file.precompiledCharsMap.isEmpty {
      normalizers.append([
        "type": "Precompiled", "precompiled_charsmap": file.precompiledCharsMap.base64EncodedString(), "chorus_sentencepiece_matching": true,
      ])
    }
    normalizers.append(["type": "Replace", "pattern": ["Regex": " {2,}"], "content": " "])  // remove_extra_whitespaces
    let description: [String: Any] = [
      "added_tokens": specials,
      "normalizer": ["type": "Sequence", "normalizers": normalizers],
      "pre_tokenizer": ["type": "Metaspace", "replacement": "▁", "prepend_scheme": "never", "split": true],
      "model": ["type": "Unigram", "unk_id": NSNumber(value: unknown), "vocab": file.pieces.map { [$0.text, $0.score] as [Any] }, "byte_fallback": false],
      "post_processor": [
        "type": "TemplateProcessing",
        "single": [["Sequence": ["id": "A", "type_id": 0]], ["SpecialToken": ["id": eos, "type_id": 0]]],
        "special_tokens": [eos: ["id": eos, "ids": [NSNumber(value: eosID)], "tokens": [eos]]],
      ],
    ]
    return TokenizerDescription(description, vocabulary: nil)
  }
}
