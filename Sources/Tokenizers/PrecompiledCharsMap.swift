import Foundation

/// SentencePiece's precompiled normalization rules (tokenizer.json's `Precompiled` normalizer, the
/// `precompiled_charsmap` of a .model file): a darts-clone double-array trie over UTF-8 keys whose values are
/// offsets into a blob of NUL-terminated replacement strings.
///
/// Applied as the reference applies it: grapheme by grapheme; a grapheme shorter than 6 UTF-8 bytes is looked up
/// whole first (the trie's first prefix match replaces it), otherwise, or when that finds nothing, each scalar
/// is looked up on its own. SentencePiece itself (`longestMatch`, for slow tokenizers) instead replaces the
/// longest trie key at each position of the text, whatever the graphemes: "ｶﾞ" becomes "ガ", not "カ" + U+3099.
public struct PrecompiledCharsMap: Sendable {
  private let units: [UInt32]
  private let normalized: [UInt8]
  public var longestMatch = false

  public init(_ data: Data) throws {
    let bytes = [UInt8](data)
    guard bytes.count >= 4 else { throw TokenizerError("precompiled_charsmap is shorter than its header") }
    let trieBytes = Int(UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24)
    guard trieBytes % 4 == 0, 4 + trieBytes <= bytes.count else { throw TokenizerError("precompiled_charsmap's trie size \(trieBytes) does not fit its \(bytes.count) bytes") }
    var units = [UInt32](repeating: 0, count: trieBytes / 4)
    for i in 0..<units.count {
      let b = 4 + 4 * i
      units[i] = UInt32(bytes[b]) | UInt32(bytes[b + 1]) << 8 | UInt32(bytes[b + 2]) << 16 | UInt32(bytes[b + 3]) << 24
    }
    guard !units.isEmpty else { throw TokenizerError("precompiled_charsmap has an empty trie") }
    self.units = units
    normalized = Array(bytes[(4 + trieBytes)...])
  }

  /// The replacement for `key` (the first — shortest — trie entry that is a prefix of it), if any.
  func replacement(for key: [UInt8]) -> [Unicode.Scalar]? {
    var position = 0
    position ^= Self.offset(units[position])
    for byte in key {
      guard byte != 0 else { break }
      position ^= Int(byte)
      guard position >= 0, position < units.count else { return nil }
      let unit = units[position]
      guard Self.label(unit) == UInt32(byte) else { return nil }
      position ^= Self.offset(unit)
      guard position < units.count else { return nil }
      if (unit >> 8) & 1 == 1 {
        let start = Int(units[position] & 0x7FFF_FFFF)
        guard start < normalized.count else { return nil }
        var end = start
        while end < normalized.count && normalized[end] != 0 { end += 1 }
        return Array(String(decoding: normalized[start..<end], as: UTF8.self).unicodeScalars)
      }
    }
    return nil
  }

  /// SentencePiece's lookup: the longest trie key starting `bytes`, as (its length in bytes, its replacement).
  func longestReplacement(for bytes: ArraySlice<UInt8>) -> (length: Int, scalars: [Unicode.Scalar])? {
    var position = Self.offset(units[0])
    var found: (length: Int, start: Int)?
    for (index, byte) in bytes.enumerated() {
      guard byte != 0 else { break }
      position ^= Int(byte)
      guard position >= 0, position < units.count else { break }
      let unit = units[position]
      guard Self.label(unit) == UInt32(byte) else { break }
      position ^= Self.offset(unit)
      guard position < units.count else { break }
      if (unit >> 8) & 1 == 1 { found = (index + 1, Int(units[position] & 0x7FFF_FFFF)) }
    }
    guard let found, found.start < normalized.count else { return nil }
    var end = found.start
    while end < normalized.count && normalized[end] != 0 { end += 1 }
    return (found.length, Array(String(decoding: normalized[found.start..<end], as: UTF8.self).unicodeScalars))
  }

  private static func offset(_ unit: UInt32) -> Int { Int((unit >> 10) << ((unit & (1 << 9)) >> 6)) }
  private static func label(_ unit: UInt32) -> UInt32 { unit & ((1 << 31) | 0xFF) }

  public func apply(_ text: NormalizedText) -> NormalizedText {
    guard !text.isEmpty else { return text }
    if longestMatch { return applyLongestMatch(text) }
    // Grapheme boundaries in scalar indexes.
    var runs: [Range<Int>] = []
    var start = 0
    for character in text.string {
      let length = character.unicodeScalars.count
      runs.append(start..<start + length)
      start += length
    }
    // Each grapheme either whole (one run) or scalar by scalar (one run each).
    var pieces: [Range<Int>] = []
    var replacements: [[Unicode.Scalar]?] = []
    for run in runs {
      let scalars = Array(text.scalars[run])
      let utf8 = Array(String(String.UnicodeScalarView(scalars)).utf8)
      if utf8.count < 6, let whole = replacement(for: utf8) {
        pieces.append(run)
        replacements.append(whole)
        continue
      }
      for i in run {
        pieces.append(i..<i + 1)
        replacements.append(replacement(for: Array(String(text.scalars[i]).utf8)))
      }
    }
    return text.rewriteRuns(pieces) { index, _ in replacements[index] }
  }

  private func applyLongestMatch(_ text: NormalizedText) -> NormalizedText {
    let utf8 = Array(text.string.utf8)
    // Byte offset where each scalar starts (and one past the end), to turn matched bytes back into scalars.
    var byteStarts = [0]
    byteStarts.reserveCapacity(text.count + 1)
    for scalar in text.scalars { byteStarts.append(byteStarts.last! + UTF8.width(scalar)) }
    var pieces: [Range<Int>] = []
    var replacements: [[Unicode.Scalar]?] = []
    var i = 0
    while i < text.count {
      if let match = longestReplacement(for: utf8[byteStarts[i]...]) {
        var end = i + 1
        while byteStarts[end] < byteStarts[i] + match.length { end += 1 }
        pieces.append(i..<end)
        replacements.append(match.scalars)
        i = end
      } else {
        pieces.append(i..<i + 1)
        replacements.append(nil)
        i += 1
      }
    }
    return text.rewriteRuns(pieces) { index, _ in replacements[index] }
  }
}
