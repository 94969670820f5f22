import Daemon
import NIOCore
import NIOPosix

// Run Swift concurrency on NIO's event loops: a gRPC call's handler then runs on the thread that read it instead of
// hopping to the cooperative pool and back (measured: the hops were half the daemon's time on small calls).
// Inference does not run here: it has threads of its own (the batchers' queues and the kernels' workers).
_ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()

do {
  let command = try DaemonCommand.parse()
  try await command.execute()
} catch {
  DaemonCommand.exit(withError: error)
}
