import Foundation

/// Where the starter space's models (fetched by scripts/fetch-models) are looked for: the text model
/// all-MiniLM-L6-v2, and beside it the image model EfficientNet-Lite0 with its ConSE head into the text space.
enum StarterModel {
  static let directoryName = "all-MiniLM-L6-v2"
  static let imageDirectoryName = "efficientnet-lite0"
  static let audioDirectoryName = "whisper-base-encoder"

  /// The audio model beside the text model, when it is there with its projection head into the text space (without
  /// the head its vectors live in a space of their own and cannot join the starter).
  static func audioModel(besideTextModel text: String) -> String? {
    let path = URL(fileURLWithPath: text).deletingLastPathComponent().appendingPathComponent(audioDirectoryName).path
    return FileManager.default.fileExists(atPath: path + "/projection.safetensors") ? path : nil
  }

  /// The image model in the same folder as the text model, when it is there.
  static func imageModel(besideTextModel text: String) -> String? {
    let path = URL(fileURLWithPath: text).deletingLastPathComponent().appendingPathComponent(imageDirectoryName).path
    return FileManager.default.fileExists(atPath: path + "/config.json") ? path : nil
  }

  /// The configured directory when it exists, else the first standard place that holds the model.
  static func locate(configured: String?) -> String? {
    if let configured {
      return FileManager.default.fileExists(atPath: configured + "/config.json") ? configured : nil
    }
    return candidates().first { FileManager.default.fileExists(atPath: $0 + "/config.json") }
  }

  /// The installed copy (`/usr/local/bin/chorusd` → `/usr/local/share/chorus/models`), then `Models/` of the
  /// repository a build lives in (`.build/<triple>/<config>/chorusd`, three or four levels up).
  static func candidates() -> [String] {
    let executable = URL(fileURLWithPath: Bundle.main.executablePath ?? CommandLine.arguments[0]).resolvingSymlinksInPath()
    var directory = executable.deletingLastPathComponent()
    var places = [directory.appendingPathComponent("../share/chorus/models/\(directoryName)").standardizedFileURL.path]
    for _ in 0..<4 {
      directory = directory.deletingLastPathComponent()
      places.append(directory.appendingPathComponent("Models/\(directoryName)").path)
    }
    return places
  }
}
