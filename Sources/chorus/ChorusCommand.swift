import ArgumentParser
import ChorusEnvironment

struct ChorusCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "chorus",
    abstract: "Command-line client of chorusd, the Chorus embedding daemon.",
    discussion: "Exit status: 0 success, 1 when the daemon answered with a failure (any input failed, not serving), 2 for usage or connection errors.",
    version: ChorusVersion.version,
    subcommands: [HealthCommand.self, SpacesCommand.self, InfoCommand.self, EmbedCommand.self, ClassifyCommand.self, StatsCommand.self, CollectionCommand.self, AddCommand.self, ImportCommand.self, SearchCommand.self]
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

  /// Connection options given before the subcommand (`chorus --socket S health`, as git and docker take them)
  /// moved after it, where every subcommand parses them; everything else keeps its place.
  static func hoisted(_ arguments: [String]) -> [String] {
    var leading: [String] = []
    var rest = arguments[...]
    while let first = rest.first {
      if first == "--socket", rest.count >= 2 {
        leading += rest.prefix(2)
        rest = rest.dropFirst(2)
      } else if first.hasPrefix("--socket=") {
        leading.append(first)
        rest = rest.dropFirst()
      } else {
        break
      }
    }
    guard !leading.isEmpty else { return arguments }
    // After the subcommand's own arguments, but before a `--` that ends options.
    if let end = rest.firstIndex(of: "--") { return Array(rest[..<end]) + leading + Array(rest[end...]) }
    return Array(rest) + leading
  }

  var socketPath: String {
    if let socket { return socket }
    if let fromEnvironment = ProcessInfo.processInfo.environment["CHORUS_SOCKET"], !fromEnvironment.isEmpty {
      return fromEnvironment
    }
    return DefaultPaths.socket()
  }
}

import Foundation
