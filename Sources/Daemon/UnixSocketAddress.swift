import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A `sockaddr_un` for a path (a leading '@' names the abstract namespace, as systemd writes it), handed to
/// `body` with its length; nil when the path does not fit.
func withUnixSocketAddress<R>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R? {
  var address = sockaddr_un()
  address.sun_family = sa_family_t(AF_UNIX)
  var bytes = Array(path.utf8)
  let abstract = bytes.first == UInt8(ascii: "@")
  if abstract { bytes[0] = 0 }
  guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
  withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
  // Abstract names are exactly their bytes long; paths are NUL-terminated.
  let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 0 : 1))
  return withUnsafePointer(to: &address) { pointer in
    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
  }
}
