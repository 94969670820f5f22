import ArgumentParser
import ChorusAPI
import GRPCCore

struct CollectionCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "collection", abstract: "Create, delete and list collections.",
    subcommands: [CreateCollectionCommand.self, DeleteCollectionCommand.self, ListCollectionsCommand.self])
}

struct CreateCollectionCommand: ChorusSubcommand {
  static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a collection bound to a space.")
  @OptionGroup var connection: ConnectionOptions
  @Argument(help: "The collection's name.") var name: String
  @Option(help: "The space its vectors come from (default: the daemon's default space).") var space: String?

  func execute() async throws {
    let collection = try await callDaemon(connection) { client in
      try await Chorus_V1_CollectionService.Client(wrapping: client).createCollection(.with {
        $0.name = name
        $0.space = space ?? ""
      })
    }
    print("created \(collection.name) (space \(collection.space), \(collection.dimension)-d)")
  }
}

struct DeleteCollectionCommand: ChorusSubcommand {
  static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a collection and all its items.")
  @OptionGroup var connection: ConnectionOptions
  @Argument(help: "The collection's name.") var name: String

  func execute() async throws {
    let response = try await callDaemon(connection) { client in
      try await Chorus_V1_CollectionService.Client(wrapping: client).deleteCollection(.with { $0.name = name })
    }
    print("deleted \(name) (\(response.deletedItems) items)")
  }
}

struct ListCollectionsCommand: ChorusSubcommand {
  static let configuration = CommandConfiguration(commandName: "list", abstract: "List collections: name, space, dimension, count.")
  @OptionGroup var connection: ConnectionOptions
  @Flag(help: "Print one JSON object per collection.") var json = false

  struct CollectionJSON: Encodable {
    var name: String
    var space: String
    var dimension: UInt32
    var count: UInt64
  }

  func execute() async throws {
    let response = try await callDaemon(connection) { client in
      try await Chorus_V1_CollectionService.Client(wrapping: client).listCollections(.init())
    }
    for collection in response.collections {
      if json {
        printJSONLine(CollectionJSON(name: collection.name, space: collection.space, dimension: collection.dimension, count: collection.count))
      } else {
        print("\(collection.name)  space \(collection.space)  \(collection.dimension)-d  \(collection.count) items")
      }
    }
    if !json && response.collections.isEmpty { print("no collections yet (chorus collection create NAME)") }
  }
}

/// `withDaemon`, with a failure of the call itself reported as one line and exit 1.
func callDaemon<Result: Sendable>(
  _ options: ConnectionOptions, _ body: (GRPCClient<GRPCNIOTransportHTTP2.HTTP2ClientTransport.Posix>) async throws -> Result
) async throws -> Result {
  do {
    return try await withDaemon(options, body)
  } catch let error as RPCError {
    throw CLIFailure.failed(describe(error))
  }
}

import GRPCNIOTransportHTTP2
