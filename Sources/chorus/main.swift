import ArgumentParser
import Foundation

// Parsed and dispatched by hand so that usage errors exit 2 (the CLI's documented code), not ArgumentParser's 64.
do {
  let command = try ChorusCommand.parseAsRoot(ConnectionOptions.hoisted(Array(CommandLine.arguments.dropFirst())))
  guard let subcommand = command as? any ChorusSubcommand else {
    throw CleanExit.helpRequest(command)
  }
  try await subcommand.execute()
} catch let failure as CLIFailure {
  failure.report()
} catch let exit as ExitCode {
  Foundation.exit(exit.rawValue)
} catch {
  let message = ChorusCommand.fullMessage(for: error)
  if ChorusCommand.exitCode(for: error) == .success {
    print(message)
    exit(0)
  }
  FileHandle.standardError.write(Data((message + "\n").utf8))
  exit(2)
}
