import Foundation

/// Why the daemon could not start; the description is the whole message a person sees.
public struct StartupError: Error, CustomStringConvertible {
  public var description: String

  /// The POSIX reason behind a Foundation file error ("Permission denied"), or its own description.
  static func reason(_ error: any Error) -> String {
    let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
    if let code = underlying?.code, underlying?.domain == NSPOSIXErrorDomain {
      return String(cString: strerror(Int32(code)))
    }
    return error.localizedDescription
  }
}
