import Foundation

/// Why the file system refused a write.
public enum WriteFailure: Sendable, Equatable {
  case diskFull, readOnly, busy, other
}

/// Why a collection operation failed; the Server maps each case to a gRPC status.
public enum StoreError: Error, Equatable, CustomStringConvertible {
  case collectionExists(String)
  case collectionNotFound(String, available: [String])
  case itemNotFound(collection: String, id: String)
  case invalid(String)
  /// The file system refused the write; why decides the status (full disk, read-only, busy, other).
  case writeFailed(WriteFailure, String)
  /// The database cannot be reached (PostgreSQL down, restarting, refusing connections): UNAVAILABLE, retry.
  case unavailable(String)
  /// The database answered with an error no caller can fix (a bug, a broken schema): INTERNAL.
  case database(String)
  /// A collection's table is gone (another daemon deleted the collection meanwhile); the store turns it into
  /// `collectionNotFound` after looking again.
  case tableMissing(String)

  public var description: String {
    switch self {
    case .collectionExists(let name): "collection '\(name)' already exists"
    case .collectionNotFound(let name, let available):
      "no collection named '\(name)' (\(available.isEmpty ? "there are none yet" : "collections: " + available.joined(separator: ", ")))"
    case .itemNotFound(let collection, let id): "collection '\(collection)' has no item '\(id)'"
    case .invalid(let message): message
    case .writeFailed(let why, let detail):
      switch why {
      case .diskFull: "the write was not stored: the disk holding the data dir is full (\(detail)); reads and searches keep working, free space and retry"
      case .readOnly: "the write was not stored: the data dir is read-only (\(detail)); reads and searches keep working"
      case .busy: "the write was not stored: the store is busy (\(detail)); retry"
      case .other: "the write was not stored: \(detail)"
      }
    case .unavailable(let detail): "the collection store is unavailable: \(detail); embedding keeps working, retry collection calls shortly"
    case .database(let detail): "the collection store failed: \(detail)"
    case .tableMissing(let detail): "the collection's table is gone: \(detail)"
    }
  }
}

public struct CollectionInfo: Sendable, Equatable {
  public var name: String
  public var space: String
  public var dimension: Int
  public var count: Int
  public var createdUnixMs: Int64

  public init(name: String, space: String, dimension: Int, count: Int, createdUnixMs: Int64) {
    self.name = name
    self.space = space
    self.dimension = dimension
    self.count = count
    self.createdUnixMs = createdUnixMs
  }
}

/// One stored item. `vector` is as given (normalised or not); search uses a normalised copy.
public struct StoredItem: Sendable, Equatable {
  public var id: String
  public var modality: String
  public var vector: [Float]
  public var metadata: [String: String]
  public var source: String
  public var contentHash: String
  public var updatedUnixMs: Int64
  /// What a page shows of the item (a thumbnail, a text's opening): written with the item, read only on its own
  /// (`preview(_:id:)`), never loaded with the item.
  public var preview: ItemPreview?

  public init(
    id: String, modality: String, vector: [Float], metadata: [String: String], source: String, contentHash: String, updatedUnixMs: Int64 = 0,
    preview: ItemPreview? = nil
  ) {
    self.preview = preview
    self.id = id
    self.modality = modality
    self.vector = vector
    self.metadata = metadata
    self.source = source
    self.contentHash = contentHash
    self.updatedUnixMs = updatedUnixMs
  }
}

extension StoredItem {
  /// Metadata as both backends store it: a JSON object with sorted keys.
  static func json(_ metadata: [String: String]) -> String {
    let data = (try? JSONSerialization.data(withJSONObject: metadata, options: [.sortedKeys])) ?? Data("{}".utf8)
    return String(decoding: data, as: UTF8.self)
  }

  static func metadata(json: String) -> [String: String] {
    json == "{}" ? [:] : (try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: String]) ?? [:]
  }

  /// When a write happened, as both backends record it.
  static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}

/// A stored preview: its media type ("image/jpeg", "text/plain; charset=utf-8") and bytes.
public struct ItemPreview: Sendable, Equatable {
  public var mediaType: String
  public var data: Data

  public init(mediaType: String, data: Data) {
    self.mediaType = mediaType
    self.data = data
  }
}

public struct SearchFilter: Sendable {
  public var modalities: Set<String>
  public var metadataEquals: [String: String]

  public init(modalities: Set<String> = [], metadataEquals: [String: String] = [:]) {
    self.modalities = modalities
    self.metadataEquals = metadataEquals
  }

  var isEmpty: Bool { modalities.isEmpty && metadataEquals.isEmpty }

  func accepts(_ item: IndexedItem) -> Bool {
    (modalities.isEmpty || modalities.contains(item.modality))
      && metadataEquals.allSatisfy { item.metadata[$0.key] == $0.value }
  }
}

public struct SearchHit: Sendable, Equatable {
  public var item: StoredItem
  public var score: Float

  public init(item: StoredItem, score: Float) {
    self.item = item
    self.score = score
  }
}

