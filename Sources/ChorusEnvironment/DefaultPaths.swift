import Foundation

/// Where the socket and the data live when neither a flag nor the config file says.
/// Under systemd the unit's RuntimeDirectory/StateDirectory win; otherwise the XDG locations of the user.
public enum DefaultPaths {
  public static let socketFileName = "chorus.sock"

  /// `$RUNTIME_DIRECTORY/chorus.sock` under systemd, else `$XDG_RUNTIME_DIR/chorus/chorus.sock`,
  /// else `/tmp/chorus-$UID/chorus.sock` (a user without a runtime dir still gets a private place).
  public static func socket(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
    if let runtime = firstPath(environment["RUNTIME_DIRECTORY"]) {
      return runtime + "/" + socketFileName
    }
    if let xdg = nonEmpty(environment["XDG_RUNTIME_DIR"]) {
      return xdg + "/chorus/" + socketFileName
    }
    return "/tmp/chorus-\(getuid())/" + socketFileName
  }

  /// `$STATE_DIRECTORY` under systemd, else `$XDG_DATA_HOME/chorus`, else `~/.local/share/chorus`.
  public static func dataDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
    if let state = firstPath(environment["STATE_DIRECTORY"]) { return state }
    if let xdg = nonEmpty(environment["XDG_DATA_HOME"]) { return xdg + "/chorus" }
    let home = nonEmpty(environment["HOME"]) ?? NSHomeDirectory()
    return home + "/.local/share/chorus"
  }

  /// systemd passes several directories colon-separated when a unit names several; the first is ours.
  private static func firstPath(_ value: String?) -> String? {
    guard let value = nonEmpty(value) else { return nil }
    return value.split(separator: ":").first.map(String.init)
  }

  private static func nonEmpty(_ value: String?) -> String? {
    guard let value, !value.isEmpty else { return nil }
    return value
  }
}
