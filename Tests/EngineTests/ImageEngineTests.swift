import Encoders
import Foundation
import Logging
import Store
import Tensor
import XCTest

@testable import Engine

/// A CLIP directory served end to end from image files: decode, preprocess, batch, encode, cache.
final class ImageEngineTests: XCTestCase {
  let logger = Logger(label: "test")
  let tests = fixtures.deletingLastPathComponent().deletingLastPathComponent()

  func makeEngine(_ configuration: EngineConfiguration = EngineConfiguration(), cache: VectorCache? = nil) throws -> Engine {
    try Engine(models: ["clip": fixtures.appendingPathComponent("tiny-clip").path], configuration: configuration, cache: cache, logger: logger)
  }

  func reference() throws -> (files: [String], raw: [[Float]], vectors: [[Float]]) {
    let object = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(contentsOf: fixtures.appendingPathComponent("tiny-clip-images.expected.json"))) as? [String: Any])
    let raw = try XCTUnwrap(object["raw"] as? [[Double]]).map { $0.map(Float.init) }
    let vectors = try XCTUnwrap(object["vectors"] as? [[Double]]).map { $0.map(Float.init) }
    return (try XCTUnwrap(object["files"] as? [String]), raw, vectors)
  }

  func testCLIPDirectoryEmbedsImageFilesLikeTransformers() async throws {
    let engine = try makeEngine()
    let space = try engine.space(named: "clip")
    XCTAssertEqual(space.modalities, [.text, .image])
    XCTAssertEqual(space.encoders.map(\.architecture), ["clip_text", "clip_vision"])
    let (files, raw, vectors) = try reference()
    let inputs = try files.map { EmbedInput.image(try Data(contentsOf: tests.appendingPathComponent($0))) }
    let normalised = try await engine.embed(space: "clip", inputs: inputs, options: EmbedOptions()).results.map { try $0.get() }
    let unnormalised = try await engine.embed(space: "clip", inputs: inputs, options: EmbedOptions(raw: true)).results.map { try $0.get() }
    for (index, file) in files.enumerated() {
      XCTAssertEqual(normalised[index].modality, .image)
      XCTAssertGreaterThanOrEqual(cosineSimilarity(normalised[index].vector, vectors[index]), 0.9999, file)
      XCTAssertLessThanOrEqual(maxAbsDifference(normalised[index].vector, vectors[index]), 1e-4, file)
      XCTAssertLessThanOrEqual(maxAbsDifference(unnormalised[index].vector, raw[index]), 1e-4 * max(1, raw[index].map(abs).max()!), file)
      print("tiny CLIP image end to end \(file): max abs \(maxAbsDifference(normalised[index].vector, vectors[index]))")
    }
  }

  func testBadImagesGetTheirOwnErrorsAndTheRestSucceed() async throws {
    let engine = try makeEngine(EngineConfiguration(maxImagePixels: 10_000_000))
    let media = tests.appendingPathComponent("MediaTests/Fixtures")
    let good = try Data(contentsOf: media.appendingPathComponent("formats/baseline.jpg"))
    let inputs: [EmbedInput] = [
      .image(good),
      .image(try Data(contentsOf: media.appendingPathComponent("bad/truncated.jpg"))),
      .image(try Data(contentsOf: media.appendingPathComponent("bad/huge.png"))),
      .image(try Data(contentsOf: media.appendingPathComponent("bad/animation.gif"))),
      .image(Data()),
      .audio(Data([1, 2, 3])),
      .text("a cat"),
      .image(try Data(contentsOf: media.appendingPathComponent("formats/one-pixel.png"))),
    ]
    let results = try await engine.embed(space: "clip", inputs: inputs, options: EmbedOptions()).results
    XCTAssertNoThrow(try results[0].get())
    func failure(_ index: Int) -> InputError? { if case .failure(let error) = results[index] { error } else { nil } }
    XCTAssertEqual(failure(1)?.kind, .invalidArgument)
    XCTAssertTrue(failure(1)?.message.contains("corrupt or truncated") ?? false, "\(String(describing: failure(1)))")
    XCTAssertEqual(failure(2)?.kind, .resourceExhausted)
    XCTAssertTrue(failure(2)?.message.contains("over the limit of 10000000 (max_image_pixels)") ?? false)
    XCTAssertEqual(failure(3)?.message, "image: GIF images are not supported (supported: JPEG, PNG)")
    XCTAssertEqual(failure(4)?.message, "image: the image is empty (0 bytes)")
    XCTAssertEqual(failure(5)?.message, "space 'clip' cannot embed audio inputs (it serves: text, image)")
    XCTAssertEqual(try results[6].get().modality, .text)
    XCTAssertEqual(try results[7].get().vector.count, 24, "a 1x1 image is upscaled, as the reference does")
  }

  func testImagesAreCachedByContentAndBypassRecomputes() async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chorus-image-cache-\(UUID())").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let engine = try makeEngine(cache: try VectorCache(directory: directory, memoryLimitBytes: 1 << 20, diskLimitBytes: 1 << 20))
    let image = EmbedInput.image(try Data(contentsOf: tests.appendingPathComponent("MediaTests/Fixtures/formats/rgb.png")))
    let first = try await engine.embed(space: "clip", inputs: [image], options: EmbedOptions()).results[0].get()
    let second = try await engine.embed(space: "clip", inputs: [image, image], options: EmbedOptions()).results.map { try $0.get() }
    let bypassed = try await engine.embed(space: "clip", inputs: [image], options: EmbedOptions(bypassCache: true)).results[0].get()
    XCTAssertFalse(first.cached)
    XCTAssertEqual(second.map(\.cached), [true, true])
    XCTAssertFalse(bypassed.cached)
    XCTAssertEqual(first.vector, second[0].vector)
    XCTAssertEqual(first.vector, bypassed.vector)
  }

  func testEXIFSwitchChangesTheFingerprint() throws {
    let on = try makeEngine().spaces[0].encoders.first { $0.modality == .image }!.fingerprint
    let off = try makeEngine(EngineConfiguration(applyEXIFOrientation: false)).spaces[0].encoders.first { $0.modality == .image }!.fingerprint
    XCTAssertNotEqual(on, off, "vectors made with and without EXIF orientation must not share cache entries")
  }

  func testMissingPreprocessorConfigStopsLoadingNamingTheFile() throws {
    let copy = FileManager.default.temporaryDirectory.appendingPathComponent("chorus-clip-\(UUID())")
    defer { try? FileManager.default.removeItem(at: copy) }
    try FileManager.default.copyItem(at: fixtures.appendingPathComponent("tiny-clip"), to: copy)
    try FileManager.default.removeItem(at: copy.appendingPathComponent("preprocessor_config.json"))
    XCTAssertThrowsError(try Engine(models: ["clip": copy.path], logger: logger)) { error in
      XCTAssertTrue("\(error)".contains("preprocessor_config.json: missing or unreadable"), "\(error)")
    }
    try #"{"size": 48, "crop_size": 48}"#.write(to: copy.appendingPathComponent("preprocessor_config.json"), atomically: true, encoding: .utf8)
    XCTAssertThrowsError(try Engine(models: ["clip": copy.path], logger: logger)) { error in
      XCTAssertTrue("\(error)".contains("preprocessing must end in 32x32 pixels"), "\(error)")
    }
  }
}
