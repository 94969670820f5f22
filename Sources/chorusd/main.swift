import Daemon

do {
  let command = try DaemonCommand.parse()
  try await command.execute()
} catch {
  DaemonCommand.exit(withError: error)
}
