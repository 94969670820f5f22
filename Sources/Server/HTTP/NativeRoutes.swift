import ChorusAPI
import Foundation
import GRPCCore
import Hummingbird
import SwiftProtobuf

/// The native API over HTTP: each route decodes the proto request from its proto3 JSON mapping, calls the very
/// service method the gRPC front end calls, and answers the proto response as JSON. Path segments and query
/// parameters fill the fields they name (the collection comes from the path).
struct NativeRoutes {
  let services: HTTPFrontEnd.Services
  let maxRequestBytes: Int

  func register(on router: RouteTable) {
    let embedding = services.embedding
    let collections = services.collections
    let system = services.system
    router.add("/v1/embed", .post, name: "Embed") { request, context in
      try await unary(Chorus_V1_EmbeddingService.Method.Embed.descriptor, request, context, embedding.embed)
    }
    router.add("/v1/classify", .post, name: "Classify") { request, context in
      try await unary(Chorus_V1_EmbeddingService.Method.Classify.descriptor, request, context, embedding.classify)
    }
    router.add("/v1/spaces", .get, name: "ListSpaces") { request, context in
      try await unary(Chorus_V1_EmbeddingService.Method.ListSpaces.descriptor, request, context, embedding.listSpaces)
    }
    router.add("/v1/info", .get, name: "GetInfo") { request, context in
      try await unary(Chorus_V1_SystemService.Method.GetInfo.descriptor, request, context, system.getInfo)
    }
    router.add("/v1/cache", .get, name: "GetCacheStats") { request, context in
      try await unary(Chorus_V1_SystemService.Method.GetCacheStats.descriptor, request, context, system.getCacheStats)
    }
    router.add("/v1/collections", .get, name: "ListCollections") { request, context in
      try await unary(Chorus_V1_CollectionService.Method.ListCollections.descriptor, request, context, collections.listCollections)
    }
    router.add("/v1/collections", .post, name: "CreateCollection") { request, context in
      try await unary(Chorus_V1_CollectionService.Method.CreateCollection.descriptor, request, context, collections.createCollection)
    }
    router.add("/v1/collections/:name", .get, name: "GetCollection") { request, context in
      try await unary(Chorus_V1_CollectionService.Method.GetCollection.descriptor, request, context, collections.getCollection) {
        $0.name = try context.collection()
      }
    }
    router.add("/v1/collections/:name", .delete, name: "DeleteCollection") { request, context in
      try await unary(Chorus_V1_CollectionService.Method.DeleteCollection.descriptor, request, context, collections.deleteCollection) {
        $0.name = try context.collection()
      }
    }
    router.add("/v1/collections/:name/upsert", .post, name: "Upsert") { request, context in
      try await unary(Chorus_V1_CollectionService.Method.Upsert.descriptor, request, context, collections.upsert) { $0.collection = try context.collection() }
    }
    router.add("/v1/collections/:name/remove", .post, name: "Remove") { request, context in
      try await unary(Chorus_V1_CollectionService.Method.Remove.descriptor, request, context, collections.remove) { $0.collection = try context.collection() }
    }
    router.add("/v1/collections/:name/get", .post, name: "GetItems") { request, context in
      try await unary(Chorus_V1_CollectionService.Method.GetItems.descriptor, request, context, collections.getItems) { $0.collection = try context.collection() }
    }
    router.add("/v1/collections/:name/find-content", .post, name: "FindContent") { request, context in
      try await unary(Chorus_V1_CollectionService.Method.FindContent.descriptor, request, context, collections.findContent) {
        $0.collection = try context.collection()
      }
    }
    router.add("/v1/collections/:name/search", .post, name: "Search") { request, context in
      try await unary(Chorus_V1_CollectionService.Method.Search.descriptor, request, context, collections.search) { $0.collection = try context.collection() }
    }
    router.add("/v1/collections/:name/items/:id/thumbnail", .get, name: "Thumbnail") { _, context in
      let (name, id) = (try context.collection(), try context.itemID())
      guard let preview = try await collections.preview(collection: name, id: id), preview.mediaType.hasPrefix("image/") else {
        throw HTTPProblem(.notFound, "item '\(id)' of collection '\(name)' has no thumbnail (thumbnails are made when an image is upserted)")
      }
      return HTTPBody.media(preview)
    }
    router.add("/v1/collections/:name/items/:id/preview", .get, name: "Preview") { _, context in
      let (name, id) = (try context.collection(), try context.itemID())
      guard let preview = try await collections.preview(collection: name, id: id) else {
        throw HTTPProblem(.notFound, "item '\(id)' of collection '\(name)' has no preview (previews are made when content is upserted)")
      }
      return HTTPBody.media(preview)
    }
    router.add("/v1/collections/:name/items", .get, name: "ListItems") { request, context in
      try await unary(Chorus_V1_CollectionService.Method.ListItems.descriptor, request, context, collections.listItems) { message in
        message.collection = try context.collection()
        let query = request.uri.queryParameters
        if let size = query["page_size"].map(String.init) {
          guard let value = UInt32(size) else { throw HTTPProblem(.badRequest, "page_size '\(size)' is not a whole number", param: "page_size") }
          message.pageSize = value
        }
        if let token = query["page_token"] { message.pageToken = String(token) }
        if let include = query["include_vectors"].map(String.init) {
          guard let value = Bool(include) else { throw HTTPProblem(.badRequest, "include_vectors '\(include)' is not true or false", param: "include_vectors") }
          message.includeVectors = value
        }
      }
    }
  }

  /// One unary call: body (POST) → message → path/query fields → the service → JSON. A GET has no body; its
  /// request is the empty message plus what the path and query say.
  private func unary<In: SwiftProtobuf.Message, Out: SwiftProtobuf.Message>(
    _ method: MethodDescriptor, _ request: Request, _ context: HTTPCallContext,
    _ call: (In, ServerContext) async throws -> Out,
    fill: (inout In) throws -> Void = { _ in }
  ) async throws -> Response {
    var message = request.method == .get || request.method == .delete
      ? In() : try HTTPBody.message(In.self, from: try await HTTPBody.collect(request, limit: maxRequestBytes))
    try fill(&message)
    let response = try await withServerContextRPCCancellationHandle { handle in
      try await call(message, ServerContext(descriptor: method, remotePeer: context.connection.peerDescription, localPeer: "http", cancellation: handle))
    }
    return try HTTPBody.json(response)
  }
}

extension HTTPCallContext {
  /// The `{name}` path segment.
  func collection() throws -> String {
    guard let name = parameters.get("name") else { throw HTTPProblem(.notFound, "no collection named in the path") }
    return name.removingPercentEncoding ?? name
  }

  /// The `{id}` path segment, percent-decoded (ids may hold any character).
  func itemID() throws -> String {
    guard let id = parameters.get("id") else { throw HTTPProblem(.notFound, "no item named in the path") }
    return id.removingPercentEncoding ?? id
  }
}

extension HTTPConnection {
  var peerDescription: String {
    switch transport {
    case .tcp: "tcp"
    case .unixSocket: caller.map { "unix:uid=\($0.uid),pid=\($0.pid)" } ?? "unix"
    }
  }
}
