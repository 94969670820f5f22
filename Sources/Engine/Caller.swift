import Glibc

/// The process at the other end of the socket, as the kernel told the front end (SO_PEERCRED): it cannot be
/// claimed by the caller, only read from the connection.
public struct Caller: Sendable, Equatable, CustomStringConvertible {
  public var uid: UInt32
  public var gid: UInt32
  public var pid: Int32

  public init(uid: UInt32, gid: UInt32, pid: Int32) {
    self.uid = uid
    self.gid = gid
    self.pid = pid
  }

  public var description: String { "uid \(uid) gid \(gid) pid \(pid)" }

  /// The caller's groups: its primary group from the socket plus its user's supplementary groups from the group
  /// database (getgrouplist; SO_PEERCRED carries only the primary one). A uid with no user name has only the first.
  public func groups() -> Set<UInt32> {
    var result: Set<UInt32> = [gid]
    var entry = passwd()
    var found: UnsafeMutablePointer<passwd>?
    var buffer = [CChar](repeating: 0, count: 16384)
    guard getpwuid_r(uid, &entry, &buffer, buffer.count, &found) == 0, found != nil, let name = entry.pw_name else { return result }
    var count: Int32 = 64
    while true {
      var list = [gid_t](repeating: 0, count: Int(count))
      let wanted = count
      if getgrouplist(name, gid, &list, &count) >= 0 {
        result.formUnion(list.prefix(Int(count)))
        return result
      }
      guard count > wanted, count < 65536 else { return result }
    }
  }

  /// Whether the caller may do `access` (read or search) to a file of these owner and mode bits, as the kernel
  /// would decide from the permission bits: root may; else the owner bits for its owner, the group bits for a
  /// member of its group, the other bits for everyone else. (ACLs are not consulted.)
  func may(_ access: FileAccess, owner: UInt32, group: UInt32, mode: UInt32, groups: () -> Set<UInt32>) -> Bool {
    if uid == 0 { return true }
    let bit: UInt32 = access == .read ? 0o4 : 0o1
    if owner == uid { return mode & (bit << 6) != 0 }
    if groups().contains(group) { return mode & (bit << 3) != 0 }
    return mode & bit != 0
  }

  enum FileAccess { case read, search }
}
