import ContentSniffing
import Foundation
import Glibc

/// O_PATH (Linux): a descriptor that only names a place in the tree; Swift's Glibc module does not export it.
private let openPathOnly: Int32 = 0o10000000

/// The directories under which the daemon reads files for its callers (`file_roots`), as real paths. Empty:
/// server-side file inputs are off.
public struct FileRoots: Sendable, Equatable {
  public let paths: [String]

  /// Resolves each directory (symbolic links, `..`); one that is missing or not a directory stops start-up.
  public init(_ directories: [String]) throws(FileRootsError) {
    var paths: [String] = []
    for directory in directories {
      guard directory.hasPrefix("/") else { throw FileRootsError(description: "file root '\(directory)' is not an absolute path") }
      guard let resolved = FileInput.realPath(directory) else {
        throw FileRootsError(description: "file root \(directory): \(String(cString: strerror(errno)))")
      }
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw FileRootsError(description: "file root \(directory) is not a directory")
      }
      paths.append(resolved)
    }
    self.paths = paths
  }

  public static let none = try! FileRoots([])

  func contains(_ resolved: String) -> Bool {
    paths.contains { root in root == "/" || resolved == root || resolved.hasPrefix(root + "/") }
  }
}

public struct FileRootsError: Error, CustomStringConvertible {
  public var description: String
}

/// A server-side file input (`Input.file`): read by the daemon for a caller, its modality given or told from its
/// content.
///
/// The daemon reads a file only if, with symbolic links and `..` resolved, it lies under one of the file roots,
/// and only if the caller itself could read it: search permission on every directory from `/` down, read
/// permission on the file, judged by the permission bits against the caller's uid and groups. The resolved path
/// is then walked one component at a time with O_NOFOLLOW, so a link swapped in after the check is refused, and
/// the file is opened non-blocking and must be a regular file (FIFOs, devices and sockets are refused).
enum FileInput {
  static func load(path: String, modality: Modality?, maxBytes: Int, roots: FileRoots, caller: Caller?) -> Result<EmbedInput, InputError> {
    read(path: path, maxBytes: maxBytes, roots: roots, caller: caller).flatMap { data in
      switch modality ?? ContentKind.modality(of: data).flatMap(Modality.init(rawValue:)) {
      case .text: .success(.text(String(decoding: data, as: UTF8.self)))
      case .image: .success(.image(data))
      case .audio: .success(.audio(data))
      case nil:
        .failure(InputError(.invalidArgument, "file \(path): cannot tell its modality from its content (not text, an image or audio); set the modality"))
      }
    }
  }

  /// The file's bytes, or the reason the daemon will not read them for this caller.
  static func read(path: String, maxBytes: Int, roots: FileRoots, caller: Caller?) -> Result<Data, InputError> {
    func denied(_ why: String) -> Result<Data, InputError> { .failure(InputError(.permissionDenied, "file \(path): \(why)")) }
    guard path.hasPrefix("/") else {
      return .failure(InputError(.invalidArgument, "file '\(path)': give an absolute path (the daemon has its own working directory)"))
    }
    guard !roots.paths.isEmpty else {
      return denied("server-side files are off: the daemon reads files only under the directories of file_roots (--file-root); send the content instead")
    }
    guard let caller else { return denied("the caller's credentials are unknown, so the daemon reads no file for it") }
    var groups: Set<UInt32>?
    let callerGroups = { () -> Set<UInt32> in
      if groups == nil { groups = caller.groups() }
      return groups!
    }
    // Before anything about the file is told (missing, a link leading out, not regular), the caller must be able
    // to reach the deepest folder of its path that exists, as it would to look for the file itself; otherwise
    // the daemon's answers would reveal what lies in folders the caller may not search.
    var ancestor = (path as NSString).deletingLastPathComponent
    while ancestor != "/", realPath(ancestor) == nil { ancestor = (ancestor as NSString).deletingLastPathComponent }
    if let reachable = realPath(ancestor) {
      switch walk(to: reachable, caller: caller, groups: callerGroups) {
      case .success(let descriptor): close(descriptor)
      case .failure(let denial): return denied(denial.reason)
      }
    }
    guard let resolved = realPath(path) else {
      switch errno {
      case ENOENT, ENOTDIR: return .failure(InputError(.notFound, "file \(path): no such file, or the daemon may not see it (systemd's sandbox applies)"))
      case EACCES: return denied("the daemon itself may not reach it")
      default: return .failure(InputError(.invalidArgument, "file \(path): \(String(cString: strerror(errno)))"))
      }
    }
    guard roots.contains(resolved) else {
      return denied("it lies outside the directories the daemon reads for callers (file_roots: \(roots.paths.joined(separator: ", ")))")
    }
    let name = (resolved as NSString).lastPathComponent
    guard resolved != "/" else { return .failure(InputError(.invalidArgument, "file \(path): not a regular file")) }
    let directory: Int32
    switch walk(to: (resolved as NSString).deletingLastPathComponent, caller: caller, groups: callerGroups) {
    case .success(let descriptor): directory = descriptor
    case .failure(let denial): return denied(denial.reason)
    }
    defer { close(directory) }
    var status = stat()
    guard fstatat(directory, name, &status, AT_SYMLINK_NOFOLLOW) == 0 else { return denied("it changed while it was being read") }
    guard status.st_mode & S_IFMT == S_IFREG else { return .failure(InputError(.invalidArgument, "file \(path): not a regular file")) }
    guard caller.may(.read, owner: status.st_uid, group: status.st_gid, mode: status.st_mode, groups: callerGroups) else {
      return denied("the caller (uid \(caller.uid)) may not read it")
    }
    guard status.st_size <= maxBytes else {
      return .failure(InputError(.resourceExhausted, "file \(path): \(status.st_size) bytes, over the limit of \(maxBytes) bytes (max_file_bytes)"))
    }
    let file = openat(directory, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
    guard file >= 0 else { return errno == EACCES ? denied("the daemon itself may not read it") : denied("it changed while it was being read") }
    defer { close(file) }
    var opened = stat()
    guard fstat(file, &opened) == 0, opened.st_dev == status.st_dev, opened.st_ino == status.st_ino, opened.st_mode & S_IFMT == S_IFREG else {
      return denied("it changed while it was being read")
    }
    // Read what was measured into a buffer of that size, then whatever the file has grown by since, in chunks,
    // never past the limit (a doubling buffer would copy a large file once more just to meet its end).
    var data = Data(count: Int(opened.st_size))
    var length = 0
    func readSome(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
      while true {
        let got = Glibc.read(file, buffer.baseAddress!, buffer.count)
        if got >= 0 { return got }
        if errno != EINTR { return nil }
      }
    }
    while length < data.count {
      guard let got = data.withUnsafeMutableBytes({ readSome(into: UnsafeMutableRawBufferPointer(rebasing: $0[length...])) }) else {
        return .failure(InputError(.internalError, "file \(path): \(String(cString: strerror(errno)))"))
      }
      if got == 0 { break }
      length += got
    }
    data.count = length
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      guard let got = chunk.withUnsafeMutableBytes({ readSome(into: $0) }) else {
        return .failure(InputError(.internalError, "file \(path): \(String(cString: strerror(errno)))"))
      }
      if got == 0 { break }
      guard data.count + got <= maxBytes else {
        return .failure(InputError(.resourceExhausted, "file \(path): over the limit of \(maxBytes) bytes (max_file_bytes)"))
      }
      data.append(contentsOf: chunk[..<got])
    }
    return .success(data)
  }

  private struct Denial: Error { var reason: String }

  /// Opens the real directory path `directory` one component at a time with O_NOFOLLOW (a link swapped in after
  /// `realpath` is refused), checking that the caller may search each directory from `/` down, the last
  /// included; returns its descriptor.
  private static func walk(to directory: String, caller: Caller, groups: () -> Set<UInt32>) -> Result<Int32, Denial> {
    var descriptor = open("/", openPathOnly | O_DIRECTORY | O_CLOEXEC)
    guard descriptor >= 0 else { return .failure(Denial(reason: "the daemon cannot open /")) }
    var walked = "/"
    for component in directory.split(separator: "/").map(String.init) + [""] {
      var status = stat()
      guard fstat(descriptor, &status) == 0, caller.may(.search, owner: status.st_uid, group: status.st_gid, mode: status.st_mode, groups: groups) else {
        close(descriptor)
        return .failure(Denial(reason: "the caller (uid \(caller.uid)) may not search \(walked)"))
      }
      if component.isEmpty { break }
      walked = (walked as NSString).appendingPathComponent(component)
      let next = openat(descriptor, component, openPathOnly | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
      close(descriptor)
      guard next >= 0 else { return .failure(Denial(reason: "\(walked) changed while it was being read")) }
      descriptor = next
    }
    return .success(descriptor)
  }

  /// `realpath(3)`: the path with every symbolic link, `.` and `..` resolved; nil (errno set) when it fails.
  static func realPath(_ path: String) -> String? {
    guard let resolved = Glibc.realpath(path, nil) else { return nil }
    defer { free(resolved) }
    return String(cString: resolved)
  }
}
