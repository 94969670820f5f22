import ChorusAPI
import GRPCCore
import XCTest

/// The public API through the real daemon, with the Swift client.
final class APITests: XCTestCase {
  var daemon: DaemonProcess!

  override func setUp() async throws {
    daemon = DaemonProcess(arguments: ["--max-request-bytes", "65536"])
    try await daemon.startServing()
  }

  override func tearDown() {
    daemon.stop()
  }

  func testHealthIsServingForServerAndEachService() async throws {
    try await daemon.withClient { client in
      let health = Grpc_Health_V1_Health.Client(wrapping: client)
      for service in ["", "chorus.v1.EmbeddingService", "chorus.v1.CollectionService", "chorus.v1.SystemService"] {
        let status = try await health.check(.with { $0.service = service }).status
        XCTAssertEqual(status, .serving, service)
      }
      do {
        _ = try await health.check(.with { $0.service = "no.such.Service" })
        XCTFail("unknown service must be NOT_FOUND")
      } catch let error as RPCError {
        XCTAssertEqual(error.code, .notFound)
      }
    }
  }

  func testInfoDescribesThisDaemon() async throws {
    let info = try await daemon.withClient { try await Chorus_V1_SystemService.Client(wrapping: $0).getInfo(.init()) }
    XCTAssertEqual(info.version, "0.1.0")
    XCTAssertEqual(info.socket, daemon.socketPath)
    XCTAssertEqual(info.dataDir, daemon.dataDirectory)
    XCTAssertEqual(info.pid, UInt32(daemon.process.processIdentifier))
    XCTAssertEqual(info.maxRequestBytes, 65536)
    XCTAssertGreaterThan(info.uptimeSeconds, 0)
    XCTAssertLessThan(info.uptimeSeconds, 120)
  }

  func testSpacesListsNoneWithoutModels() async throws {
    let spaces = try await daemon.withClient { try await Chorus_V1_EmbeddingService.Client(wrapping: $0).listSpaces(.init()) }
    XCTAssertEqual(spaces.spaces, [])
    XCTAssertEqual(spaces.defaultSpace, "")
  }

  func testUnknownSpaceIsNotFoundNamingTheSpaces() async throws {
    await assertRPCError(.notFound, contains: "no space named 'nope'") {
      _ = try await self.daemon.withClient {
        try await Chorus_V1_EmbeddingService.Client(wrapping: $0).embed(.with {
          $0.space = "nope"
          $0.inputs = [.with { $0.text = "hello" }]
        })
      }
    }
  }

  func testCollectionsAnswerUnimplementedNamingWhatIsMissing() async throws {
    await assertRPCError(.unimplemented, contains: "vector store") {
      _ = try await self.daemon.withClient {
        try await Chorus_V1_CollectionService.Client(wrapping: $0).createCollection(.with { $0.name = "photos" })
      }
    }
    await assertRPCError(.unimplemented, contains: "cache") {
      _ = try await self.daemon.withClient { try await Chorus_V1_SystemService.Client(wrapping: $0).getCacheStats(.init()) }
    }
  }

  func testOversizedMessageIsResourceExhaustedStatingTheLimitAndDaemonKeepsServing() async throws {
    await assertRPCError(.resourceExhausted, contains: "65536") {
      _ = try await self.daemon.withClient {
        try await Chorus_V1_EmbeddingService.Client(wrapping: $0).embed(.with {
          $0.inputs = [.with { $0.image = Data(repeating: 0xFF, count: 100_000) }]
        })
      }
    }
    let status = try await daemon.withClient { try await Grpc_Health_V1_Health.Client(wrapping: $0).check(.init()).status }
    XCTAssertEqual(status, .serving)
  }

  private func assertRPCError(_ code: RPCError.Code, contains text: String, _ body: () async throws -> Void, line: UInt = #line) async {
    do {
      try await body()
      XCTFail("expected \(code)", line: line)
    } catch let error as RPCError {
      XCTAssertEqual(error.code, code, error.message, line: line)
      XCTAssertTrue(error.message.contains(text), "message: \(error.message)", line: line)
    } catch {
      XCTFail("unexpected \(error)", line: line)
    }
  }
}

import Foundation
