import Foundation

/// Samples of one window → the features its encoder takes, as the model directory's `preprocessor_config.json`
/// says (`feature_extractor_type`).
public protocol AudioFrontEnd: Sendable {
  var samplingRate: Int { get }
  /// Samples one window covers (shorter clips are padded as the reference pads them).
  var windowSamples: Int { get }
  /// Shape of one window's features, in the layout the encoder reads.
  var featureShape: [Int] { get }
  func features(_ samples: ArraySlice<Float>) -> [Float]
  /// Why a whole clip (one that fits one window) cannot be embedded, if it cannot; nil when it can.
  func refusal(_ samples: ArraySlice<Float>) -> String?
}

extension AudioFrontEnd {
  public func refusal(_ samples: ArraySlice<Float>) -> String? { nil }
}

extension WhisperFeatureExtractor: AudioFrontEnd {
  public var featureShape: [Int] { [melBins, frames] }
}

public enum AudioFrontEnds {
  /// The front end a `preprocessor_config.json` names; Whisper's defaults when `fallback` is "whisper" and there is
  /// no file.
  public static func load(configFile: URL, fallback: String) throws -> any AudioFrontEnd {
    var type = fallback == "whisper" ? "WhisperFeatureExtractor" : "ASTFeatureExtractor"
    if FileManager.default.fileExists(atPath: configFile.path) {
      let json = try JSONSerialization.jsonObject(with: Data(contentsOf: configFile)) as? [String: Any]
      type = json?["feature_extractor_type"] as? String ?? type
    } else if fallback != "whisper" {
      throw MediaDecodeError(.invalid, "\(configFile.path) is missing")
    }
    switch type {
    case "WhisperFeatureExtractor":
      return FileManager.default.fileExists(atPath: configFile.path) ? try WhisperFeatureExtractor(configFile: configFile) : WhisperFeatureExtractor()
    case "ASTFeatureExtractor":
      return try KaldiFilterBank(configFile: configFile)
    case "ClapFeatureExtractor":
      return try ClapFeatureExtractor(configFile: configFile)
    default:
      throw MediaDecodeError(
        .invalid, "\(configFile.path): feature_extractor_type '\(type)' is not supported (supported: WhisperFeatureExtractor, ASTFeatureExtractor, ClapFeatureExtractor)")
    }
  }
}
