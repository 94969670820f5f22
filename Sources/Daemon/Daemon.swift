import ChorusAPI
import Engine
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import Metrics
import Prometheus
import Server
import ServiceLifecycle
import Store

/// The running daemon: prepares the data dir, builds the engine, takes the socket, serves until SIGTERM/SIGINT.
public struct Daemon {
  let settings: Settings
  let environment: [String: String]
  let logger: Logger

  public init(settings: Settings, environment: [String: String], logger: Logger) {
    self.settings = settings
    self.environment = environment
    self.logger = logger
  }

  public func run() async throws {
    let startedAt = Date()
    // First: swift-metrics hands out its backend's handlers when a metric is made, and the engine makes its own
    // while loading.
    let registry = PrometheusCollectorRegistry()
    MetricsSystem.bootstrap(MetricsBackend(registry: registry))
    let dataDirectory = try DataDirectory.prepare(settings.dataDirectory)
    if let warning = dataDirectory.warning { logger.warning("\(warning)") }
    var models = settings.models.mapValues { [$0] }
    if settings.starter && models[Engine.defaultSpaceName] == nil {
      if let directory = StarterModel.locate(configured: settings.starterModel) {
        models[Engine.defaultSpaceName] =
          [directory] + [StarterModel.imageModel(besideTextModel: directory), StarterModel.audioModel(besideTextModel: directory)].compactMap { $0 }
      } else if let configured = settings.starterModel {
        throw StartupError(description: "the starter model directory \(configured) does not exist (fix starter_model, or turn the starter off with --no-starter)")
      } else {
        logger.warning("no starter model found (looked in \(StarterModel.candidates().joined(separator: ", "))); run scripts/fetch-models, or pass --no-starter to silence this")
      }
    }
    let (cache, collections, postgres) = try await openStore(readOnly: dataDirectory.readOnly)
    let fileRoots: FileRoots
    do {
      fileRoots = try FileRoots(settings.fileRoots)
    } catch {
      throw StartupError(description: "\(error) (fix file_roots / --file-root)")
    }
    let engine = try Engine(
      spaces: models, precisions: settings.precisions,
      configuration: EngineConfiguration(
        maxBatchSize: settings.maxBatchSize, maxBatchWaitMicroseconds: settings.maxBatchWaitMicroseconds, maxTextBytes: settings.maxTextBytes,
        maxImagePixels: settings.maxImagePixels, applyEXIFOrientation: settings.exifOrientation, maxFileBytes: settings.maxFileBytes,
        maxAudioSeconds: settings.maxAudioSeconds, audioWindowOverlapSeconds: settings.audioWindowOverlapSeconds,
        maxQueuedInputs: settings.maxQueuedInputs, fileRoots: fileRoots),
      cache: cache,
      logger: logger)

    let activated = try ListeningSocket.fromSystemd(environment: environment)
    let listener = try activated.grpc ?? ListeningSocket.bind(path: settings.socketPath, mode: settings.socketMode)
    defer { listener.cleanUp() }
    let httpEndpoints = try HTTPEndpoints.open(settings: settings, activated: activated.http)
    defer { httpEndpoints.cleanUp() }

    let transport = HTTP2ServerTransport.Posix(
      listeningSocketDescriptor: Int(listener.descriptor),
      transportSecurity: .plaintext,
      config: .defaults {
        $0.rpc.maxRequestPayloadSize = RequestSizeLimit.transportLimit(for: settings.maxRequestBytes)
        $0.channelDebuggingCallbacks = PeerCredentials.callbacks
        // A client opening thousands of streams gets them a few hundred at a time (HTTP/2 flow control, not an
        // error), and a connection that carries nothing for long is closed (clients reconnect on their own).
        $0.http2.maxConcurrentStreams = 256
        $0.connection.maxIdleTime = .seconds(15 * 60)
      }
    )
    let health = HealthState()
    // While PostgreSQL is unreachable, the collection service is NOT_SERVING; embedding is not affected.
    postgres?.onAvailabilityChange { reason in
      health.set(service: Chorus_V1_CollectionService.descriptor.fullyQualifiedService, working: reason == nil)
    }
    let facts = DaemonFacts(
      startedAt: startedAt, socket: listener.displayName, dataDirectory: settings.dataDirectory,
      maxRequestBytes: settings.maxRequestBytes)
    // One set of services; both front ends map onto it.
    let serviceLayer = HTTPFrontEnd.Services(
      embedding: EmbeddingService(engine: engine),
      collections: CollectionService(engine: engine, store: collections, logger: logger),
      system: SystemService(facts: facts, engine: engine))
    let policy = AccessPolicy(allowedUIDs: settings.allowedUIDs.map(Set.init), allowedGIDs: settings.allowedGIDs.map(Set.init))
    let server = GRPCServer(
      transport: transport,
      services: [
        serviceLayer.embedding,
        serviceLayer.collections,
        serviceLayer.system,
        HealthService(state: health, services: ServiceNames.all),
      ],
      interceptors: [
        MetricsInterceptor(),
        CallInterceptor(policy: policy),
        RequestSizeLimit(maxBytes: settings.maxRequestBytes),
      ]
    )
    let frontEnd = HTTPFrontEnd(
      services: serviceLayer, engine: engine, store: collections, health: health, facts: facts,
      configuration: HTTPFrontEnd.Configuration(maxRequestBytes: settings.maxRequestBytes, policy: policy, apiKey: httpEndpoints.apiKey),
      metrics: MetricsExposition(registry: registry, engine: engine, store: collections, startedAt: startedAt))

    let notifier = SystemdNotifier(environment: environment)
    var services: [any Service] = [
      ServingService(
        server: server, transport: transport, engine: engine, health: health, notifier: notifier, socketName: listener.displayName, startedAt: startedAt,
        logger: logger)
    ]
    for endpoint in httpEndpoints.endpoints {
      let http = HTTPListener(endpoint: endpoint, frontEnd: frontEnd, headerTimeout: .milliseconds(Int64(settings.httpHeaderTimeoutSeconds * 1000)), logger: logger)
      logger.info("HTTP API listening", metadata: ["address": "\(http.displayName)"])
      services.append(http)
    }
    if let interval = notifier.watchdogInterval {
      services.append(WatchdogService(notifier: notifier, interval: interval))
    }
    var configuration = ServiceGroupConfiguration(
      services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    configuration.maximumGracefulShutdownDuration = .milliseconds(Int64(settings.shutdownGraceSeconds * 1000))
    configuration.maximumCancellationDuration = .seconds(5)
    try await ServiceGroup(configuration: configuration).run()
    postgres?.close()
    logger.info("chorusd stopped")
  }

  /// The vector cache and the collection store: in the data dir, or in PostgreSQL (`store`).
  private func openStore(readOnly: Bool) async throws -> (VectorCache, any CollectionBackend, PostgresDatabase?) {
    let index = IndexSettings(hnswThreshold: settings.hnswThreshold, hnsw: HNSWParameters(efSearch: settings.hnswEfSearch))
    guard let url = settings.store else {
      do {
        let cache = try VectorCache(
          directory: settings.dataDirectory, memoryLimitBytes: settings.cacheMemoryBytes, diskLimitBytes: settings.cacheDiskBytes, readOnly: readOnly)
        let collections = try CollectionStore(directory: settings.dataDirectory, index: index, readOnly: readOnly)
        return (cache, collections, nil)
      } catch {
        throw StartupError(description: "cannot open the store in \(settings.dataDirectory): \(error)")
      }
    }
    let location: PostgresLocation
    let password: String?
    do {
      location = try PostgresLocation(url: url)
      password = try location.password(passwordFile: settings.storePasswordFile, environment: environment)
    } catch {
      throw StartupError(description: "\(error) (fix store / --store, store_password_file / --store-password-file)")
    }
    do {
      let database = try await PostgresDatabase(location: location, password: password, logger: logger)
      let collections = try await PostgresCollectionStore(database: database, index: index)
      let cache = VectorCache(memoryLimitBytes: settings.cacheMemoryBytes, database: database, diskLimitBytes: settings.cacheDiskBytes)
      logger.info("store: PostgreSQL", metadata: ["store": "\(location)", "schema": "\(PostgresDatabase.schemaVersion)"])
      return (cache, collections, database)
    } catch {
      throw StartupError(description: "cannot open the store at \(location): \(error)")
    }
  }
}

/// The gRPC server as a lifecycle service: ready once listening, graceful on shutdown.
struct ServingService: Service {
  let server: GRPCServer<HTTP2ServerTransport.Posix>
  let transport: HTTP2ServerTransport.Posix
  let engine: Engine
  let health: HealthState
  let notifier: SystemdNotifier
  let socketName: String
  let startedAt: Date
  let logger: Logger

  func run() async throws {
    try await withGracefulShutdownHandler {
      try await withThrowingDiscardingTaskGroup { group in
        group.addTask { try await server.serve() }
        group.addTask {
          _ = try await transport.listeningAddress
          // Health answers NOT_SERVING (and systemd waits) until every encoder has run a batch: the first
          // request then pays no first-use cost, and the queues know what a batch costs.
          notifier.status("warming up the encoders")
          do {
            try await cancelWhenGracefulShutdown { try await engine.warmUp(logger: logger) }
          } catch is CancellationError {
            return  // stopped (SIGTERM) while warming up: a clean stop, never ready
          }
          health.set(.serving)
          notifier.ready(status: "serving on \(socketName)")
          logger.info(
            "chorusd serving",
            metadata: ["socket": "\(socketName)", "pid": "\(getpid())", "seconds_to_ready": "\(String(format: "%.2f", Date().timeIntervalSince(startedAt)))"])
        }
      }
    } onGracefulShutdown: {
      logger.info("shutting down: no new calls, waiting for in-flight ones")
      health.set(.notServing)
      health.finishWatchers()
      notifier.stopping()
      server.beginGracefulShutdown()
    }
  }
}

/// Pings systemd's watchdog at half its timeout while the daemon runs.
struct WatchdogService: Service {
  let notifier: SystemdNotifier
  let interval: Duration

  func run() async throws {
    try? await cancelWhenGracefulShutdown {
      while true {
        notifier.watchdog()
        try await Task.sleep(for: interval)
      }
    }
  }
}
