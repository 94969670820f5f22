import Engine

/// The call being served, as its front end established it: the caller's credentials and its deadline. Bound by
/// the front end around each call (`CallInterceptor` for gRPC) and read by the services, which hand it to the
/// engine explicitly.
public enum CallScope {
  @TaskLocal public static var current = CallContext()
}

/// The caller's credentials travel from the transport (which reads them from the socket) to the service layer as
/// request headers that the transport writes itself, after deleting any a client sent under these names.
public enum PeerCredentialHeaders {
  public static let prefix = "chorus-peer-"
  public static let uid = "chorus-peer-uid"
  public static let gid = "chorus-peer-gid"
  public static let pid = "chorus-peer-pid"

  /// The caller the transport recorded; nil when it recorded none (not a Unix socket, or credentials unreadable).
  public static func caller(uid: String?, gid: String?, pid: String?) -> Caller? {
    guard let uid = uid.flatMap(UInt32.init), let gid = gid.flatMap(UInt32.init), let pid = pid.flatMap(Int32.init) else { return nil }
    return Caller(uid: uid, gid: gid, pid: pid)
  }
}

/// Who may use the daemon beyond what the socket's permissions already decide: `allowed_uids` and `allowed_gids`.
/// With neither set, anyone who can connect may; with either, a caller must match one of them (its uid, or its
/// primary or a supplementary group).
public struct AccessPolicy: Sendable, Equatable {
  public var allowedUIDs: Set<UInt32>?
  public var allowedGIDs: Set<UInt32>?

  public init(allowedUIDs: Set<UInt32>? = nil, allowedGIDs: Set<UInt32>? = nil) {
    self.allowedUIDs = allowedUIDs
    self.allowedGIDs = allowedGIDs
  }

  public var isOpen: Bool { allowedUIDs == nil && allowedGIDs == nil }

  /// nil when the caller may proceed; otherwise the reason, for PERMISSION_DENIED.
  public func refusal(of caller: Caller?) -> String? {
    if isOpen { return nil }
    guard let caller else { return "the caller's credentials are unknown, and this daemon admits only allowed_uids / allowed_gids" }
    if allowedUIDs?.contains(caller.uid) == true { return nil }
    if let gids = allowedGIDs, !gids.isDisjoint(with: caller.groups()) { return nil }
    return "uid \(caller.uid) is not admitted by this daemon (allowed_uids / allowed_gids)"
  }
}
