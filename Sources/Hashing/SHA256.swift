import CCrypto
import Foundation

/// Incremental SHA-256 through OpenSSL's EVP interface.
public struct SHA256Hasher: ~Copyable {
  private let context: OpaquePointer

  public init() {
    context = EVP_MD_CTX_new()
    EVP_DigestInit_ex(context, EVP_sha256(), nil)
  }

  deinit { EVP_MD_CTX_free(context) }

  public mutating func update(_ bytes: UnsafeRawBufferPointer) {
    if let base = bytes.baseAddress, bytes.count > 0 { EVP_DigestUpdate(context, base, bytes.count) }
  }

  public mutating func update(_ data: Data) {
    data.withUnsafeBytes { update($0) }
  }

  public mutating func update(_ string: String) {
    var copy = string
    copy.withUTF8 { update(UnsafeRawBufferPointer($0)) }
  }

  /// The digest as lower-case hex; the hasher is used up.
  public consuming func hexDigest() -> String {
    var digest = [UInt8](repeating: 0, count: 32)
    var length: UInt32 = 0
    EVP_DigestFinal_ex(context, &digest, &length)
    // By table: String(format:) per byte was a visible share of a small request's time.
    let hex = Array("0123456789abcdef".utf8)
    return String(unsafeUninitializedCapacity: 64) { out in
      for (index, byte) in digest.enumerated() {
        out[2 * index] = hex[Int(byte >> 4)]
        out[2 * index + 1] = hex[Int(byte & 0xF)]
      }
      return 64
    }
  }

  /// SHA-256 of a file's bytes, read in 1 MiB chunks.
  public static func hexDigest(ofFile path: String) throws -> String {
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw CocoaError(.fileReadNoPermission, userInfo: [NSFilePathErrorKey: path])
    }
    defer { try? handle.close() }
    var hasher = SHA256Hasher()
    while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(chunk) }
    return hasher.hexDigest()
  }

  public static func hexDigest(of data: Data) -> String {
    var hasher = SHA256Hasher()
    hasher.update(data)
    return hasher.hexDigest()
  }
}
