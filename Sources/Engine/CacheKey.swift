import Foundation
import Hashing

/// Cache keys: SHA-256 over (encoder fingerprint, modality, SHA-256 of the input bytes). Shared by embed,
/// upsert and search-by-content, so the same input through any of them hits the same entry.
enum CacheKey {
  /// `variant` names what else changes the vector (a prompt, chunking); empty for the plain input, whose keys
  /// stay what they always were.
  static func make(fingerprint: String, modality: Modality, contentHash: String, variant: String = "") -> String {
    var hasher = SHA256Hasher()
    hasher.update("chorus-cache-v1\u{0}\(fingerprint)\u{0}\(modality.rawValue)\u{0}\(contentHash)")
    if !variant.isEmpty { hasher.update("\u{0}\(variant)") }
    return hasher.hexDigest()
  }
}
