import ChorusAPI
import GRPCCore

/// `chorus.v1.CollectionService`. Collections live in the Store module, which is not built yet: every method
/// answers UNIMPLEMENTED saying so, never a made-up result.
public struct CollectionService: Chorus_V1_CollectionService.SimpleServiceProtocol {
  public init() {}

  private func missing(_ method: String) -> RPCError {
    RPCError(code: .unimplemented, message: "\(method): collections and search need the vector store, which this build does not have yet")
  }

  public func createCollection(request: Chorus_V1_CreateCollectionRequest, context: ServerContext) async throws -> Chorus_V1_Collection {
    throw missing("CreateCollection")
  }
  public func listCollections(request: Chorus_V1_ListCollectionsRequest, context: ServerContext) async throws -> Chorus_V1_ListCollectionsResponse {
    throw missing("ListCollections")
  }
  public func getCollection(request: Chorus_V1_GetCollectionRequest, context: ServerContext) async throws -> Chorus_V1_Collection {
    throw missing("GetCollection")
  }
  public func deleteCollection(request: Chorus_V1_DeleteCollectionRequest, context: ServerContext) async throws -> Chorus_V1_DeleteCollectionResponse {
    throw missing("DeleteCollection")
  }
  public func upsert(request: Chorus_V1_UpsertRequest, context: ServerContext) async throws -> Chorus_V1_UpsertResponse {
    throw missing("Upsert")
  }
  public func remove(request: Chorus_V1_RemoveRequest, context: ServerContext) async throws -> Chorus_V1_RemoveResponse {
    throw missing("Remove")
  }
  public func getItems(request: Chorus_V1_GetItemsRequest, context: ServerContext) async throws -> Chorus_V1_GetItemsResponse {
    throw missing("GetItems")
  }
  public func listItems(request: Chorus_V1_ListItemsRequest, context: ServerContext) async throws -> Chorus_V1_ListItemsResponse {
    throw missing("ListItems")
  }
  public func findContent(request: Chorus_V1_FindContentRequest, context: ServerContext) async throws -> Chorus_V1_FindContentResponse {
    throw missing("FindContent")
  }
  public func search(request: Chorus_V1_SearchRequest, context: ServerContext) async throws -> Chorus_V1_SearchResponse {
    throw missing("Search")
  }
}
