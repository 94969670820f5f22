import ArgumentParser
import ChorusEnvironment

struct ChorusCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "chorus",
    abstract: "Command-line client of chorusd, the Chorus embedding daemon.",
    discussion: "Exit status: 0 success, 1 when the daemon answered with a failure (any input failed, not serving), 2 for usage or connection errors.",
    version: ChorusVersion.version,
    subcommands: [HealthCommand.self, SpacesCommand.self, InfoCommand.self, EmbedCommand.self, StatsCommand.self, CollectionCommand.self, AddCommand.self, ImportCommand.self, SearchCommand.self]
  )
}

/// A subcommand that does its work asynchronously. main.swift calls `execute()` itself: ArgumentParser's
/// `run()` overloads are ambiguous between sync and async when called on an existential.
protocol ChorusSubcommand: ParsableCommand {
  func execute() async throws
}

/// `--socket`, shared by every subcommand.
struct ConnectionOptions: ParsableArguments {
  @Option(help: "chorusd's socket (default: $CHORUS_SOCKET, else the daemon's default path).")
  var socket: String?

  var socketPath: String {
    if let socket { return socket }
    if let fromEnvironment = ProcessInfo.processInfo.environment["CHORUS_SOCKET"], !fromEnvironment.isEmpty {
      return fromEnvironment
    }
    return DefaultPaths.socket()
  }
}

import Foundation
