import Daemon
import Glibc
import NIOCore
import NIOPosix

// Run Swift concurrency on NIO's event loops: a gRPC call's handler then runs on the thread that read it instead of
// hopping to the cooperative pool and back (measured: the hops were half the daemon's time on small calls).
// Inference does not run here: it has threads of its own (the batchers' queues and the kernels' workers).
_ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()

do {
  let command = try DaemonCommand.parse()
  try await command.execute()
  // Leave without running C and C++ static destructors: a batch whose caller left at SIGTERM (the warm-up, say) may
  // still be finishing inside oneDNN on a worker thread, and tearing oneDNN's globals down under it crashed the
  // process (SIGSEGV in libdnnl at exit, about one stop in five when SIGTERM came during the warm-up). Nothing is
  // lost by skipping them: writes are durable when acknowledged (SQLite WAL, PostgreSQL commits), logs are on stderr.
  fflush(nil)
  _exit(0)
} catch {
  DaemonCommand.exit(withError: error)
}
