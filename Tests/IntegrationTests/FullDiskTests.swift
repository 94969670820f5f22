import ChorusAPI
import Foundation
import GRPCCore
import XCTest

/// The data dir on a small tmpfs that fills up: writes fail with RESOURCE_EXHAUSTED and say why, reads and
/// searches keep working, and every acknowledged item survives kill -9 and a restart on the still-full disk.
/// Mounting needs root (CI runs as root); elsewhere the test is skipped with that reason.
final class FullDiskTests: XCTestCase {
  static let clip = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("EncodersTests/Fixtures/tiny-clip").path

  func mount(_ arguments: [String]) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/mount")
    process.arguments = arguments
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw Failure("mount \(arguments) failed") }
  }

  /// A temporary directory for the daemon whose `data` folder is a fresh tmpfs of `size`.
  func mountTmpfs(size: String) throws -> (directory: String, data: String) {
    let directory = DaemonProcess.makeTemporaryDirectory()
    let data = directory + "/data"
    try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
    try mount(["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", data])
    return (directory, data)
  }

  func unmountTmpfs(_ directory: String, _ data: String) {
    let unmount = Process()
    unmount.executableURL = URL(fileURLWithPath: "/bin/umount")
    unmount.arguments = [data]
    try? unmount.run()
    unmount.waitUntilExit()
    try? FileManager.default.removeItem(atPath: directory)
  }

  func testFullDiskRefusesWritesClearlyKeepsReadsAndLosesNothing() async throws {
    try XCTSkipUnless(geteuid() == 0, "mounting a small tmpfs for the data dir needs root")
    let (directory, data) = try mountTmpfs(size: "2m")
    defer { unmountTmpfs(directory, data) }
    let arguments = ["--no-starter", "--model", "clip=\(Self.clip)"]
    var daemon = DaemonProcess(arguments: arguments, directory: directory)
    try await daemon.startServing()

    var acknowledged: [String] = []
    var refusal: RPCError?
    try await daemon.withClient { client in
      let collections = Chorus_V1_CollectionService.Client(wrapping: client)
      _ = try await collections.createCollection(.with {
        $0.name = "notes"
        $0.space = "clip"
      })
      var random = SystemRandomNumberGenerator()
      for batch in 0..<400 {
        let ids = (0..<50).map { "item-\(batch)-\($0)-" + String(repeating: "x", count: 150) }
        do {
          _ = try await collections.upsert(.with {
            $0.collection = "notes"
            $0.items = ids.map { id in
              .with {
                $0.id = id
                $0.vector = .with { $0.values = (0..<24).map { _ in Float.random(in: -1...1, using: &random) } }
                $0.metadata = ["note": String(repeating: "m", count: 200)]
              }
            }
          })
          acknowledged += ids
        } catch let error as RPCError {
          refusal = error
          break
        }
      }
    }
    let error = try XCTUnwrap(refusal, "2 MiB never filled up")
    XCTAssertEqual(error.code, .resourceExhausted, error.message)
    XCTAssertTrue(error.message.contains("the disk holding the data dir is full"), error.message)
    XCTAssertGreaterThan(acknowledged.count, 100)

    // Reads and searches keep working on the full disk, and nothing acknowledged is missing.
    try await assertEverythingThere(daemon, acknowledged)
    daemon.signal(SIGKILL)
    try await daemon.waitForExit()

    // A restart on the still-full disk serves what is stored (and says the disk is full).
    daemon = DaemonProcess(arguments: arguments, directory: directory)
    try await daemon.startServing()
    XCTAssertTrue(daemon.stderr.contains("is full"), daemon.stderr)
    try await assertEverythingThere(daemon, acknowledged)
    daemon.signal(SIGKILL)
    try await daemon.waitForExit()
  }

  /// A data dir whose file system is remounted read-only between two runs: chorusd starts, says so, serves every
  /// stored item and search, and refuses writes with FAILED_PRECONDITION.
  func testReadOnlyDataDirServesWhatIsStoredAndRefusesWrites() async throws {
    try XCTSkipUnless(geteuid() == 0, "mounting a tmpfs for the data dir needs root")
    let (directory, data) = try mountTmpfs(size: "16m")
    defer { unmountTmpfs(directory, data) }
    let arguments = ["--no-starter", "--model", "clip=\(Self.clip)"]
    var daemon = DaemonProcess(arguments: arguments, directory: directory)
    try await daemon.startServing()
    let ids = (0..<20).map { "item-\($0)" }
    try await daemon.withClient { client in
      let collections = Chorus_V1_CollectionService.Client(wrapping: client)
      _ = try await collections.createCollection(.with {
        $0.name = "notes"
        $0.space = "clip"
      })
      _ = try await collections.upsert(.with {
        $0.collection = "notes"
        $0.items = ids.enumerated().map { index, id in
          .with {
            $0.id = id
            $0.vector = .with { $0.values = (0..<24).map { Float(($0 * 7 + index * 13) % 11) - 5 } }
          }
        }
      })
    }
    // A clean stop: SQLite folds its WAL into the files on close.
    daemon.signal(SIGTERM)
    let status = try await daemon.waitForExit()
    XCTAssertEqual(status, 0)
    try mount(["-o", "remount,ro", data])

    daemon = DaemonProcess(arguments: arguments, directory: directory)
    try await daemon.startServing()
    XCTAssertTrue(daemon.stderr.contains("read-only file system"), daemon.stderr)
    try await assertEverythingThere(daemon, ids)
    let refusal = try await daemon.withClient { client -> RPCError? in
      do {
        _ = try await Chorus_V1_CollectionService.Client(wrapping: client).upsert(.with {
          $0.collection = "notes"
          $0.items = [.with {
            $0.id = "new"
            $0.vector = .with { $0.values = Array(repeating: 1, count: 24) }
          }]
        })
        return nil
      } catch {
        return error as? RPCError
      }
    }
    XCTAssertEqual(refusal?.code, .failedPrecondition, "\(String(describing: refusal))")
    XCTAssertTrue(refusal?.message.contains("read-only") ?? false, "\(String(describing: refusal))")
    daemon.signal(SIGKILL)
    _ = try await daemon.waitForExit()
  }

  func assertEverythingThere(_ daemon: DaemonProcess, _ ids: [String]) async throws {
    try await daemon.withClient { client in
      let collections = Chorus_V1_CollectionService.Client(wrapping: client)
      let info = try await collections.getCollection(.with { $0.name = "notes" })
      XCTAssertEqual(info.count, UInt64(ids.count), "a refused upsert stores none of its items, an acknowledged one all")
      let found = try await collections.getItems(.with {
        $0.collection = "notes"
        $0.ids = ids
      })
      XCTAssertEqual(found.notFound, [])
      XCTAssertEqual(found.items.count, ids.count)
      let hits = try await collections.search(.with {
        $0.collection = "notes"
        $0.likeID = ids[0]
        $0.k = 3
      })
      XCTAssertEqual(hits.hits.first?.id, ids[0])
    }
  }
}
