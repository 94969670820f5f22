import ChorusAPI
import Engine
import Foundation
import GRPCCore
import Logging
import Store

/// `chorus.v1.CollectionService`: validates, embeds content through the engine (and so the cache), and maps
/// the API onto the store.
public struct CollectionService: Chorus_V1_CollectionService.SimpleServiceProtocol {
  private let engine: Engine
  private let store: any CollectionBackend
  private let logger: Logger

  static let maxIDBytes = 256
  static let maxMetadataPairs = 64
  static let maxMetadataKeyBytes = 128
  static let maxMetadataValueBytes = 1024
  static let defaultK = 10
  static let maxK = 1000
  static let defaultPageSize = 100
  static let maxPageSize = 1000

  public init(engine: Engine, store: any CollectionBackend, logger: Logger = Logger(label: "chorusd")) {
    self.engine = engine
    self.store = store
    self.logger = logger
  }

  /// Every write is logged with the caller's uid and pid (from the socket), so an operator can tell who changed what.
  private func logWrite(_ what: String, collection: String, count: Int? = nil) {
    let caller = CallScope.current.caller
    var metadata: Logger.Metadata = ["collection": "\(collection)", "uid": "\(caller.map { String($0.uid) } ?? "unknown")", "pid": "\(caller.map { String($0.pid) } ?? "unknown")"]
    if let count { metadata["items"] = "\(count)" }
    logger.info("\(what)", metadata: metadata)
  }

  public func createCollection(request: Chorus_V1_CreateCollectionRequest, context: ServerContext) async throws -> Chorus_V1_Collection {
    try Self.validateName(request.name)
    let space = try RPCError.mapping { try engine.space(named: request.space) }
    let created = try await mapping { Self.message(try await store.create(name: request.name, space: space.name, dimension: space.dimension)) }
    logWrite("collection created", collection: request.name)
    return created
  }

  public func listCollections(request: Chorus_V1_ListCollectionsRequest, context: ServerContext) async throws -> Chorus_V1_ListCollectionsResponse {
    let collections = try await mapping { try await store.list() }
    return .with { $0.collections = collections.map(Self.message) }
  }

  public func getCollection(request: Chorus_V1_GetCollectionRequest, context: ServerContext) async throws -> Chorus_V1_Collection {
    try await mapping { Self.message(try await store.info(request.name)) }
  }

  public func deleteCollection(request: Chorus_V1_DeleteCollectionRequest, context: ServerContext) async throws -> Chorus_V1_DeleteCollectionResponse {
    let deleted = try await mapping { try await store.delete(request.name) }
    logWrite("collection deleted", collection: request.name, count: deleted)
    return .with { $0.deletedItems = UInt64(deleted) }
  }

  public func upsert(request: Chorus_V1_UpsertRequest, context: ServerContext) async throws -> Chorus_V1_UpsertResponse {
    let collection = try await mapping { try await store.shape(request.collection) }
    var results = [Chorus_V1_UpsertResult](repeating: Chorus_V1_UpsertResult(), count: request.items.count)
    var ready: [(index: Int, item: StoredItem, cached: Bool)] = []
    var toEmbed: [(index: Int, input: EmbedInput)] = []
    for (index, item) in request.items.enumerated() {
      if let problem = Self.problem(with: item, dimension: collection.dimension) {
        results[index].error = ItemErrors.message(.invalidArgument, "item \(index): \(problem)")
        continue
      }
      switch item.value {
      case .vector(let vector):
        ready.append((index, Self.stored(item, vector: vector.values, modality: Modality(vector.modality)?.rawValue ?? "", contentHash: ""), false))
      case .content(let input):
        guard let embedInput = EmbeddingService.embedInput(input) else {
          results[index].error = ItemErrors.message(.invalidArgument, "item \(index): its content is empty: set text, image, audio or file")
          continue
        }
        toEmbed.append((index, embedInput))
      case nil:
        results[index].error = ItemErrors.message(.invalidArgument, "item \(index) has neither content nor a vector")
      }
    }
    if !toEmbed.isEmpty {
      let (_, outputs) = try await RPCError.mapping {
        // Previews (thumbnails, a text's opening) are kept with the items, for the search page.
        try await engine.embed(
          space: collection.space, inputs: toEmbed.map(\.input), options: EmbedOptions(bypassCache: request.options.bypassCache, previews: true),
          call: CallScope.current)
      }
      for (pending, output) in zip(toEmbed, outputs) {
        switch output {
        case .success(let embedding):
          let item = request.items[pending.index]
          var stored = Self.stored(item, vector: embedding.vector, modality: embedding.modality.rawValue, contentHash: embedding.contentHash)
          stored.preview = embedding.preview
          ready.append((pending.index, stored, embedding.cached))
        case .failure(let error):
          results[pending.index].error = ItemErrors.message(error)
        }
      }
    }
    if !ready.isEmpty {
      try await mapping { try await store.upsert(request.collection, ready.map(\.item)) }
      logWrite("items upserted", collection: request.collection, count: ready.count)
      for entry in ready {
        results[entry.index].id = entry.item.id
        results[entry.index].cached = entry.cached
      }
    }
    return .with { $0.results = results }
  }

  public func remove(request: Chorus_V1_RemoveRequest, context: ServerContext) async throws -> Chorus_V1_RemoveResponse {
    let missing = try await mapping { try await store.remove(request.collection, ids: request.ids) }
    logWrite("items removed", collection: request.collection, count: Set(request.ids).count - Set(missing).count)
    return .with {
      $0.removed = UInt64(Set(request.ids).count - Set(missing).count)
      $0.notFound = missing
    }
  }

  public func getItems(request: Chorus_V1_GetItemsRequest, context: ServerContext) async throws -> Chorus_V1_GetItemsResponse {
    let items = try await mapping { try await store.items(request.collection, ids: request.ids) }
    let found = Set(items.map(\.id))
    return .with {
      $0.items = items.map { Self.message($0, includeVector: request.includeVectors) }
      $0.notFound = request.ids.filter { !found.contains($0) }
    }
  }

  public func listItems(request: Chorus_V1_ListItemsRequest, context: ServerContext) async throws -> Chorus_V1_ListItemsResponse {
    let size = request.pageSize == 0 ? Self.defaultPageSize : min(Int(request.pageSize), Self.maxPageSize)
    var after = ""
    if !request.pageToken.isEmpty {
      guard let data = Data(base64Encoded: request.pageToken), let id = String(data: data, encoding: .utf8) else {
        throw RPCError(code: .invalidArgument, message: "page_token is not one this server gave out")
      }
      after = id
    }
    let items = try await mapping { try await store.page(request.collection, after: after, limit: size + 1) }
    return .with {
      $0.items = items.prefix(size).map { Self.message($0, includeVector: request.includeVectors) }
      if items.count > size, let last = items.prefix(size).last { $0.nextPageToken = Data(last.id.utf8).base64EncodedString() }
    }
  }

  /// An item's stored preview (not part of the gRPC API: the HTTP page serves it).
  public func preview(collection: String, id: String) async throws -> ItemPreview? {
    try await mapping { try await store.preview(collection, id: id) }
  }

  public func findContent(request: Chorus_V1_FindContentRequest, context: ServerContext) async throws -> Chorus_V1_FindContentResponse {
    let present = try await mapping { try await store.presentContent(request.collection, hashes: request.contentHashes) }
    return .with { $0.present = present }
  }

  public func search(request: Chorus_V1_SearchRequest, context: ServerContext) async throws -> Chorus_V1_SearchResponse {
    let collection = try await mapping { try await store.shape(request.collection) }
    let k = request.k == 0 ? Self.defaultK : Int(request.k)
    guard k <= Self.maxK else { throw RPCError(code: .invalidArgument, message: "k = \(k) is over the limit of \(Self.maxK)") }
    let query: [Float]
    switch request.query {
    case .vector(let vector):
      guard vector.values.allSatisfy(\.isFinite) else { throw RPCError(code: .invalidArgument, message: "the query vector has NaN or infinite values") }
      query = vector.values
    case .likeID(let id):
      guard let item = try await mapping({ try await store.items(request.collection, ids: [id]) }).first else {
        throw RPCError(code: .notFound, message: "collection '\(request.collection)' has no item '\(id)'")
      }
      query = item.vector
    case .content(let input):
      guard let embedInput = EmbeddingService.embedInput(input) else {
        throw RPCError(code: .invalidArgument, message: "the query content is empty: set text, image, audio or file")
      }
      let (_, outputs) = try await RPCError.mapping { try await engine.embed(space: collection.space, inputs: [embedInput], options: EmbedOptions(), call: CallScope.current) }
      switch outputs[0] {
      case .success(let embedding): query = embedding.vector
      case .failure(let error): throw RPCError(code: ItemErrors.code(error), message: "the query: \(error.message)")
      }
    case nil:
      throw RPCError(code: .invalidArgument, message: "set a query: content, vector or like_id")
    }
    let filter = SearchFilter(
      modalities: Set(request.filter.modalities.compactMap { Modality($0)?.rawValue }), metadataEquals: request.filter.metadataEquals)
    let started = ContinuousClock.now
    let hits = try await mapping { try await store.search(request.collection, query: query, k: k, filter: filter, efSearch: nil) }
    ServiceMetrics().search(seconds: (ContinuousClock.now - started).inSeconds)
    return .with {
      $0.exact = true
      $0.hits = hits.map { hit in
        .with {
          $0.id = hit.item.id
          $0.score = hit.score
          $0.modality = Modality(rawValue: hit.item.modality).map(Chorus_V1_Modality.init) ?? .unspecified
          $0.metadata = hit.item.metadata
          $0.source = hit.item.source
          if request.includeVectors { $0.vector = hit.item.vector }
        }
      }
    }
  }

  // MARK: Validation and mapping

  static func validateName(_ name: String) throws {
    guard !name.isEmpty, name.utf8.count <= 64,
      name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || $0.properties.numericType != nil || "-_.".unicodeScalars.contains($0)) })
    else {
      throw RPCError(code: .invalidArgument, message: "collection name '\(name)' must be 1 to 64 letters, digits, '-', '_' or '.'")
    }
  }

  static func problem(with item: Chorus_V1_UpsertItem, dimension: Int) -> String? {
    if item.id.utf8.count > maxIDBytes { return "id is \(item.id.utf8.count) bytes, over the limit of \(maxIDBytes)" }
    if item.metadata.count > maxMetadataPairs { return "\(item.metadata.count) metadata pairs, over the limit of \(maxMetadataPairs)" }
    for (key, value) in item.metadata {
      if key.isEmpty || key.utf8.count > maxMetadataKeyBytes { return "metadata key '\(key.prefix(40))' must be 1 to \(maxMetadataKeyBytes) bytes" }
      if value.utf8.count > maxMetadataValueBytes { return "metadata value of '\(key)' is \(value.utf8.count) bytes, over the limit of \(maxMetadataValueBytes)" }
    }
    if case .vector(let vector) = item.value {
      if vector.values.count != dimension { return "vector has dimension \(vector.values.count); the collection holds \(dimension)" }
      if !vector.values.allSatisfy(\.isFinite) { return "vector has NaN or infinite values" }
    }
    return nil
  }

  static func stored(_ item: Chorus_V1_UpsertItem, vector: [Float], modality: String, contentHash: String) -> StoredItem {
    StoredItem(
      id: item.id.isEmpty ? UUID().uuidString.lowercased() : item.id, modality: modality, vector: vector, metadata: item.metadata,
      source: item.source, contentHash: contentHash)
  }

  static func message(_ info: CollectionInfo) -> Chorus_V1_Collection {
    .with {
      $0.name = info.name
      $0.space = info.space
      $0.dimension = UInt32(info.dimension)
      $0.count = UInt64(info.count)
      $0.createdUnixMs = info.createdUnixMs
    }
  }

  static func message(_ item: StoredItem, includeVector: Bool) -> Chorus_V1_Item {
    .with {
      $0.id = item.id
      $0.modality = Modality(rawValue: item.modality).map(Chorus_V1_Modality.init) ?? .unspecified
      if includeVector { $0.vector = item.vector }
      $0.metadata = item.metadata
      $0.source = item.source
      $0.contentHash = item.contentHash
      $0.updatedUnixMs = item.updatedUnixMs
    }
  }

  private func mapping<T>(_ body: () async throws -> T) async throws -> T {
    do {
      return try await body()
    } catch let error as StoreError {
      switch error {
      case .collectionExists: throw RPCError(code: .alreadyExists, message: error.description)
      case .collectionNotFound, .itemNotFound: throw RPCError(code: .notFound, message: error.description)
      case .invalid: throw RPCError(code: .invalidArgument, message: error.description)
      case .writeFailed(.diskFull, _): throw RPCError(code: .resourceExhausted, message: error.description)
      case .writeFailed(.readOnly, _): throw RPCError(code: .failedPrecondition, message: error.description)
      case .writeFailed(.busy, _): throw RPCError(code: .unavailable, message: error.description)
      case .writeFailed(.other, _): throw RPCError(code: .internalError, message: error.description)
      case .unavailable: throw RPCError(code: .unavailable, message: error.description)
      case .database, .tableMissing: throw RPCError(code: .internalError, message: error.description)
      }
    }
  }
}
