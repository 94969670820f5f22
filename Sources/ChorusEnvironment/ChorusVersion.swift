/// The release version, shared by `chorusd` and `chorus` so both report the same thing.
public enum ChorusVersion {
  public static let version = "0.1.0"

  /// The build configuration this binary was compiled in.
  public static var configuration: String {
    #if DEBUG
      return "debug"
    #else
      return "release"
    #endif
  }
}
