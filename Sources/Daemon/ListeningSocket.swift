import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The Unix socket chorusd serves on: either passed by systemd (socket activation) or bound here.
///
/// Binding here goes through a lock file beside the socket (`chorus.sock.lock`), so two daemons racing for
/// one path cannot both decide the old socket is stale: the loser exits and leaves the winner untouched.
public final class ListeningSocket: Sendable {
  /// The listening descriptor; ownership passes to the gRPC transport.
  public let descriptor: Int32
  /// What to show in logs and `GetInfo`.
  public let displayName: String
  /// The path to unlink at shutdown; nil when systemd owns the socket.
  private let ownedPath: String?
  private let lockDescriptor: Int32?
  /// A Unix socket (callers have credentials) rather than TCP.
  public let isUnix: Bool

  private init(descriptor: Int32, displayName: String, ownedPath: String?, lockDescriptor: Int32?, isUnix: Bool = true) {
    self.isUnix = isUnix
    self.descriptor = descriptor
    self.displayName = displayName
    self.ownedPath = ownedPath
    self.lockDescriptor = lockDescriptor
  }

  /// The sockets systemd passed (LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES), if they are meant for this process.
  /// A descriptor named `http` (FileDescriptorName=http, or a socket unit whose name contains "http") is an HTTP
  /// listener; the first other one is gRPC's. The variables are removed so that child processes do not think they
  /// were activated too.
  public static func fromSystemd(environment: [String: String]) throws -> (grpc: ListeningSocket?, http: [ListeningSocket]) {
    guard let pid = environment["LISTEN_PID"].flatMap(Int32.init), pid == getpid(),
      let count = environment["LISTEN_FDS"].flatMap(Int.init), count >= 1
    else { return (nil, []) }
    unsetenv("LISTEN_PID")
    unsetenv("LISTEN_FDS")
    unsetenv("LISTEN_FDNAMES")
    let names = environment["LISTEN_FDNAMES"].map { $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init) } ?? []
    var grpc: ListeningSocket?
    var http: [ListeningSocket] = []
    for offset in 0..<count {
      let fd = Int32(3 + offset)  // SD_LISTEN_FDS_START
      let name = offset < names.count ? names[offset] : ""
      var type: Int32 = 0
      var length = socklen_t(MemoryLayout<Int32>.size)
      var listening: Int32 = 0
      var listeningLength = socklen_t(MemoryLayout<Int32>.size)
      guard getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) == 0, type == Int32(SOCK_STREAM.rawValue),
        getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &listeningLength) == 0, listening == 1
      else {
        throw StartupError(description: "systemd passed descriptor \(fd) ('\(name)'), but it is not a listening stream socket (check ListenStream= in the socket unit)")
      }
      _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
      var domain: Int32 = 0
      var domainLength = socklen_t(MemoryLayout<Int32>.size)
      _ = getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &domainLength)
      let socket = ListeningSocket(
        descriptor: fd, displayName: "fd:\(fd) \(name.isEmpty ? "" : "'\(name)' ")(socket activation)", ownedPath: nil, lockDescriptor: nil,
        isUnix: domain == AF_UNIX)
      if name == "http" || name.contains("http") {
        http.append(socket)
      } else if grpc == nil {
        grpc = socket
      } else {
        throw StartupError(description: "systemd passed two gRPC sockets (descriptor \(fd) '\(name)'); name the HTTP one with FileDescriptorName=http")
      }
    }
    return (grpc, http)
  }

  /// Binds and listens on `path` with permission bits `mode`, replacing a stale socket left by a dead daemon.
  public static func bind(path: String, mode: UInt16) throws -> ListeningSocket {
    let maxPath = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1
    guard path.utf8.count <= maxPath else {
      throw StartupError(description: "socket path \(path) is \(path.utf8.count) bytes; Unix sockets allow at most \(maxPath)")
    }
    let directory = (path as NSString).deletingLastPathComponent
    if !directory.isEmpty {
      do {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
      } catch {
        throw StartupError(description: "cannot create the socket's directory \(directory): \(StartupError.reason(error))")
      }
    }

    let lock = try acquireLock(path: path + ".lock", socketPath: path)
    do {
      try removeStaleSocket(at: path)
      let fd = try bindAndListen(path: path, mode: mode)
      return ListeningSocket(descriptor: fd, displayName: path, ownedPath: path, lockDescriptor: lock)
    } catch {
      close(lock)
      throw error
    }
  }

  /// Removes the socket file (when this process created it) and releases the lock. Call once, at exit.
  public func cleanUp() {
    if let ownedPath { unlink(ownedPath) }
    if let lockDescriptor { close(lockDescriptor) }
  }

  private static func acquireLock(path: String, socketPath: String) throws -> Int32 {
    let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    guard fd >= 0 else {
      throw StartupError(description: "cannot open lock file \(path): \(String(cString: strerror(errno)))")
    }
    guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
      var buffer = [UInt8](repeating: 0, count: 32)
      let count = read(fd, &buffer, buffer.count)
      let holder = count > 0 ? String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
      close(fd)
      throw StartupError(description: "another chorusd (pid \(holder)) is already serving on \(socketPath); it was left untouched")
    }
    let pid = "\(getpid())\n"
    _ = ftruncate(fd, 0)
    _ = pwrite(fd, pid, pid.utf8.count, 0)
    return fd
  }

  /// A socket file nobody answers on is stale; one that answers belongs to a live server (perhaps not a
  /// chorusd holding our lock) and is never removed. A path that is not a socket is never removed either.
  private static func removeStaleSocket(at path: String) throws {
    var info = stat()
    guard lstat(path, &info) == 0 else { return }
    guard (info.st_mode & S_IFMT) == S_IFSOCK else {
      throw StartupError(description: "\(path) exists and is not a socket; remove it or choose another --socket")
    }
    let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard probe >= 0 else { throw StartupError(description: "socket(): \(String(cString: strerror(errno)))") }
    defer { close(probe) }
    let connected = withUnixSocketAddress(path) { address, length in connect(probe, address, length) } == 0
    if connected {
      throw StartupError(description: "a live server is already listening on \(path); it was left untouched")
    }
    guard unlink(path) == 0 || errno == ENOENT else {
      throw StartupError(description: "cannot remove the stale socket \(path): \(String(cString: strerror(errno)))")
    }
  }

  private static func bindAndListen(path: String, mode: UInt16) throws -> Int32 {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw StartupError(description: "socket(): \(String(cString: strerror(errno)))") }
    // The umask makes the file appear with the right mode, so there is no moment where it is more open.
    let previous = umask(mode_t(0o777 & ~mode))
    let bound = withUnixSocketAddress(path) { address, length in Glibc.bind(fd, address, length) } ?? -1
    let bindErrno = errno
    umask(previous)
    guard bound == 0 else {
      close(fd)
      throw StartupError(description: "cannot bind \(path): \(String(cString: strerror(bindErrno)))")
    }
    guard chmod(path, mode_t(mode)) == 0, listen(fd, 512) == 0 else {
      let reason = String(cString: strerror(errno))
      close(fd)
      unlink(path)
      throw StartupError(description: "cannot listen on \(path): \(reason)")
    }
    return fd
  }
}
