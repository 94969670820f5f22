import Foundation

/// The data dir must exist and be writable before anything is served: the cache and collections live there.
enum DataDirectory {
  static func prepare(_ path: String) throws {
    do {
      try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    } catch {
      throw StartupError(description: "cannot create the data dir \(path): \(StartupError.reason(error))")
    }
    // access(2) does not see every reason a write fails (e.g. a full or read-only mount), so write for real.
    let probe = path + "/.chorusd-write-probe-\(getpid())"
    guard FileManager.default.createFile(atPath: probe, contents: Data("ok".utf8)) else {
      throw StartupError(description: "the data dir \(path) is not writable by this user (uid \(getuid())); fix its permissions or pass --data-dir")
    }
    try? FileManager.default.removeItem(atPath: probe)
  }
}
