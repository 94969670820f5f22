import ContentSniffing
import Foundation

/// A server-side file input (`Input.file`): read by the daemon, its modality given or told from its content.
enum FileInput {
  /// The file as the input it holds, or its own error: a relative path, a missing or unreadable file, a folder,
  /// a file over `maxBytes`, content of no known modality.
  static func load(path: String, modality: Modality?, maxBytes: Int) -> Result<EmbedInput, InputError> {
    guard path.hasPrefix("/") else {
      return .failure(InputError(.invalidArgument, "file '\(path)': give an absolute path (the daemon has its own working directory)"))
    }
    let attributes: [FileAttributeKey: Any]
    do {
      // Of the file a symbolic link points to, not of the link.
      attributes = try FileManager.default.attributesOfItem(atPath: URL(fileURLWithPath: path).resolvingSymlinksInPath().path)
    } catch {
      return .failure(InputError(.notFound, "file \(path): no such file, or the daemon may not see it (systemd's sandbox applies)"))
    }
    guard attributes[.type] as? FileAttributeType == .typeRegular else {
      return .failure(InputError(.invalidArgument, "file \(path): not a regular file"))
    }
    let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
    guard size <= maxBytes else {
      return .failure(InputError(.resourceExhausted, "file \(path): \(size) bytes, over the limit of \(maxBytes) bytes (max_file_bytes)"))
    }
    guard let data = FileManager.default.contents(atPath: path) else {
      return .failure(InputError(.permissionDenied, "file \(path): the daemon may not read it"))
    }
    switch modality ?? ContentKind.modality(of: data).flatMap(Modality.init(rawValue:)) {
    case .text: return .success(.text(String(decoding: data, as: UTF8.self)))
    case .image: return .success(.image(data))
    case .audio: return .success(.audio(data))
    case nil: return .failure(InputError(.invalidArgument, "file \(path): cannot tell its modality from its content (not text, an image or audio); set the modality"))
    }
  }
}
