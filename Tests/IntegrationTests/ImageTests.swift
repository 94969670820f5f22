import ChorusAPI
import Foundation
import GRPCCore
import XCTest

/// Images through the real daemon: a CLIP directory served with `--model`, the Swift client and the CLI.
final class ImageTests: XCTestCase {
  static let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  static let clip = tests.appendingPathComponent("EncodersTests/Fixtures/tiny-clip").path
  static let media = tests.appendingPathComponent("MediaTests/Fixtures")
  var daemon: DaemonProcess!

  override func setUp() async throws {
    daemon = DaemonProcess(arguments: ["--model", "clip=\(Self.clip)", "--max-image-pixels", "20000000"])
    try await daemon.startServing()
  }

  override func tearDown() {
    daemon.stop()
  }

  func testCLIPSpaceEmbedsImagesLikeTransformersAndRefusesBadOnesOneByOne() async throws {
    let reference = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(contentsOf: Self.tests.appendingPathComponent("EncodersTests/Fixtures/tiny-clip-images.expected.json")))
        as? [String: Any])
    let files = try XCTUnwrap(reference["files"] as? [String])
    let vectors = try XCTUnwrap(reference["vectors"] as? [[Double]])
    let bad = ["bad/truncated.jpg", "bad/huge.jpg", "bad/photo.webp", "bad/bad-crc.png"]
    let contents = try files.map { try Data(contentsOf: Self.tests.appendingPathComponent($0)) }
      + bad.map { try Data(contentsOf: Self.media.appendingPathComponent($0)) }
    let inputs = contents.map { data in Chorus_V1_Input.with { $0.image = data } }
    let response = try await daemon.withClient { client in
      try await Chorus_V1_EmbeddingService.Client(wrapping: client).embed(.with {
        $0.space = "clip"
        $0.inputs = inputs
      })
    }
    XCTAssertEqual(response.results.count, files.count + bad.count)
    for (index, file) in files.enumerated() {
      let embedding = response.results[index].embedding
      XCTAssertEqual(embedding.modality, .image, file)
      let difference = zip(embedding.vector, vectors[index]).map { abs(Double($0) - $1) }.max() ?? 1
      XCTAssertLessThanOrEqual(difference, 1e-4, file)
    }
    let errors = response.results.suffix(bad.count).map(\.error)
    XCTAssertEqual(errors.map(\.code), [3, 8, 3, 3])
    XCTAssertTrue(errors[1].message.contains("over the limit of 20000000 (max_image_pixels)"), errors[1].message)
    XCTAssertEqual(errors[2].message, "image: WebP images are not supported (supported: JPEG, PNG)")

    // The daemon is still serving, and the same image is now a cache hit.
    let again = try await daemon.withClient { client in
      try await Chorus_V1_EmbeddingService.Client(wrapping: client).embed(.with {
        $0.space = "clip"
        $0.inputs = [inputs[0]]
      })
    }
    XCTAssertTrue(again.results[0].embedding.cached)
    XCTAssertEqual(again.results[0].embedding.vector, response.results[0].embedding.vector)
  }

  func testSpacesListTheImageEncoder() async throws {
    let spaces = try await daemon.withClient { try await Chorus_V1_EmbeddingService.Client(wrapping: $0).listSpaces(.init()) }
    let clip = try XCTUnwrap(spaces.spaces.first { $0.name == "clip" })
    XCTAssertEqual(clip.encoders.map(\.modality), [.text, .image])
    XCTAssertEqual(clip.encoders[1].architecture, "clip_vision")
    XCTAssertEqual(clip.dimension, 24)
  }

  func testCLIEmbedsImageFilesAndSearchFindsAnImageByItself() throws {
    let good = Self.media.appendingPathComponent("formats/baseline.jpg").path
    let truncated = Self.media.appendingPathComponent("bad/truncated.jpg").path
    let embed = try daemon.cli(["embed", "--space", "clip", "--image", good, "--image", truncated, "--json"])
    XCTAssertEqual(embed.status, 1, embed.stderr)
    let lines = embed.stdout.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    XCTAssertEqual(lines[0]["modality"] as? String, "image")
    XCTAssertEqual((lines[0]["vector"] as? [Double])?.count, 24)
    XCTAssertEqual((lines[1]["error"] as? [String: String])?["code"], "INVALID_ARGUMENT")

    let create = try DaemonProcess.runCLI([], ["collection", "create", "--socket", daemon.socketPath, "pictures", "--space", "clip"])
    XCTAssertEqual(create.status, 0, create.stderr)
    let folder = Self.media.appendingPathComponent("formats").path
    let add = try daemon.cli(["add", "pictures", folder])
    XCTAssertEqual(add.status, 0, add.stdout + add.stderr)
    let search = try daemon.cli(["search", "pictures", "--image", Self.media.appendingPathComponent("formats/cmyk.jpg").path, "--k", "3", "--json"])
    XCTAssertEqual(search.status, 0, search.stderr)
    let hits = search.stdout.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    XCTAssertEqual(hits.count, 3)
    guard hits.count == 3 else { return }
    XCTAssertTrue((hits[0]["source"] as? String)?.hasSuffix("/cmyk.jpg") ?? false, "\(hits[0])")
    XCTAssertEqual(hits[0]["score"] as? Double ?? 0, 1, accuracy: 1e-5)
    XCTAssertEqual(hits[0]["modality"] as? String, "image")
    let byText = try daemon.cli(["search", "pictures", "--text", "a cat", "--k", "2", "--json"])
    XCTAssertEqual(byText.status, 0, byText.stderr)
    XCTAssertEqual(byText.stdout.split(separator: "\n").count, 2)
  }
}

/// `chorus add` keeps each upsert under the daemon's request limit and lists a file too big for any request.
final class AddBatchingTests: XCTestCase {
  func testFilesAreSentInBatchesUnderTheRequestLimit() async throws {
    let daemon = DaemonProcess(arguments: ["--model", "clip=\(ImageTests.clip)", "--max-request-bytes", "65536"])
    try await daemon.startServing()
    defer { daemon.stop() }
    let folder = daemon.directory + "/pictures"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let formats = ImageTests.media.appendingPathComponent("formats")
    let small = ["baseline.jpg", "cmyk.jpg", "rgb.png", "gray.png", "rgba16.png", "palette.png"]  // ~5-20 kB each
    for name in small { try FileManager.default.copyItem(atPath: formats.appendingPathComponent(name).path, toPath: "\(folder)/\(name)") }
    let big = ImageTests.tests.appendingPathComponent("Data/skimage/coffee.png").path  // 466 kB
    try FileManager.default.copyItem(atPath: big, toPath: "\(folder)/coffee.png")
    let create = try DaemonProcess.runCLI([], ["collection", "create", "--socket", daemon.socketPath, "pics", "--space", "clip"])
    XCTAssertEqual(create.status, 0, create.stderr)
    let add = try daemon.cli(["add", "pics", folder])
    XCTAssertEqual(add.status, 1, add.stdout + add.stderr)
    XCTAssertTrue(add.stdout.contains("added \(small.count), skipped 0 already there, failed 1"), add.stdout)
    XCTAssertTrue(add.stdout.contains("coffee.png: RESOURCE_EXHAUSTED"), add.stdout)
  }
}
