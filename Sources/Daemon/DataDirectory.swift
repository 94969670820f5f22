import Foundation

/// The data dir: created (0700) if missing and checked by a real write, since access(2) does not see every reason
/// a write fails.
enum DataDirectory {
  struct Prepared {
    /// Why chorusd serves but cannot store, if so.
    var warning: String?
    /// The file system is mounted read-only: the stores open their files read-only.
    var readOnly = false
  }

  /// Throws when chorusd cannot use the directory at all; returns a warning when it can serve but not store
  /// (a full disk: reads, searches and cached embeddings keep working, writes fail with RESOURCE_EXHAUSTED; a
  /// read-only file system: the same, writes fail with FAILED_PRECONDITION).
  static func prepare(_ path: String) throws -> Prepared {
    do {
      try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    } catch {
      throw StartupError(description: "cannot create the data dir \(path): \(StartupError.reason(error))")
    }
    let probe = path + "/.chorusd-write-probe-\(getpid())"
    defer { unlink(probe) }
    let descriptor = open(probe, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    var failure = descriptor < 0 ? errno : 0
    if descriptor >= 0 {
      if write(descriptor, "ok", 2) != 2 { failure = errno }
      close(descriptor)
    }
    switch failure {
    case 0:
      return Prepared()
    case ENOSPC, EDQUOT:
      return Prepared(warning: "the disk holding the data dir \(path) is full: serving what is stored; writes will fail until space is freed")
    case EROFS:
      return Prepared(warning: "the data dir \(path) is on a read-only file system: serving what is stored; writes will fail", readOnly: true)
    case EACCES, EPERM:
      throw StartupError(description: "the data dir \(path) is not writable by this user (uid \(getuid())); fix its permissions or pass --data-dir")
    default:
      throw StartupError(description: "the data dir \(path) cannot be written: \(String(cString: strerror(failure)))")
    }
  }
}
