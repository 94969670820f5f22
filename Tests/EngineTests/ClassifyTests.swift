import Encoders
import Foundation
import Logging
import XCTest

@testable import Engine

/// Zero-shot classification through the engine: CLIP's softmax equals transformers' logits_per_image.softmax on
/// real files (Fixtures/generate_clip_classify_fixture.py); bad labels and inputs get clear errors.
final class ClassifyTests: XCTestCase {
  let tests = fixtures.deletingLastPathComponent().deletingLastPathComponent()

  func makeEngine() throws -> Engine {
    try Engine(
      spaces: ["clip": [fixtures.appendingPathComponent("tiny-clip").path], "minilm": [fixtures.appendingPathComponent("tiny-bert-st").path]],
      logger: Logger(label: "test"))
  }

  func testCLIPProbabilitiesEqualTransformers() async throws {
    let engine = try makeEngine()
    let reference = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(contentsOf: fixtures.appendingPathComponent("tiny-clip-classify.expected.json"))) as? [String: Any])
    let files = try XCTUnwrap(reference["files"] as? [String]), labels = try XCTUnwrap(reference["labels"] as? [String])
    for run in try XCTUnwrap(reference["runs"] as? [[String: Any]]) {
      let template = run["template"] as? String
      let expected = try XCTUnwrap(run["probabilities"] as? [[Double]])
      for (index, file) in files.enumerated() {
        let outcome = try await engine.classify(
          space: "clip", input: .image(try Data(contentsOf: tests.appendingPathComponent(file))), labels: labels, template: template)
        XCTAssertEqual(outcome.modality, .image)
        XCTAssertEqual(outcome.head.rule, .softmax)
        XCTAssertTrue(outcome.head.learned)
        XCTAssertEqual(outcome.scores.map(\.label), labels, "in the order given")
        for (score, probability) in zip(outcome.scores, expected[index]) {
          XCTAssertEqual(Double(score.probability), probability, accuracy: 1e-5, "\(file) \(score.label) template \(template ?? "none")")
        }
      }
    }
  }

  func testSpacesWithoutALearnedTemperatureSaySo() async throws {
    let engine = try makeEngine()
    let outcome = try await engine.classify(space: "minilm", input: .text("a cat sleeps on the sofa"), labels: ["cats", "finance"], template: nil)
    XCTAssertFalse(outcome.head.learned)
    XCTAssertTrue(outcome.note.contains("fixed temperature"), outcome.note)
    XCTAssertEqual(outcome.scores.map(\.probability).reduce(0, +), 1, accuracy: 1e-5)
    // Text against labels in CLIP: the text tower is not the image tower the temperature was learned with.
    let text = try await engine.classify(space: "clip", input: .text("a cat"), labels: ["cat", "dog"], template: nil)
    XCTAssertFalse(text.head.learned)
  }

  func testBadLabelsTemplatesAndInputsAreRefusedClearly() async throws {
    let engine = try makeEngine()
    let image = EmbedInput.image(try Data(contentsOf: tests.appendingPathComponent("MediaTests/Fixtures/formats/rgb.png")))
    func refusal(_ input: EmbedInput, _ labels: [String], _ template: String? = nil, space: String = "clip") async -> String? {
      do {
        _ = try await engine.classify(space: space, input: input, labels: labels, template: template)
        return nil
      } catch let error as EngineError {
        return error.description
      } catch {
        return "unexpected \(error)"
      }
    }
    let empty = await refusal(image, [])
    XCTAssertEqual(empty, "classify needs at least one label")
    let blank = await refusal(image, ["cat", " "])
    XCTAssertEqual(blank, "label 1 is empty: every label needs some text")
    let repeated = await refusal(image, ["cat", "dog", "cat"])
    XCTAssertEqual(repeated, "label 2 ('cat') repeats label 0: give each label once")
    let many = await refusal(image, (0...1000).map { "label \($0)" })
    XCTAssertEqual(many, "1001 labels: at most 1000 per call (split them over several calls, or search a collection instead)")
    let template = await refusal(image, ["cat"], "a photo of a cat")
    XCTAssertEqual(template, "the template 'a photo of a cat' has no '{}' where the label goes (e.g. 'a photo of a {}')")
    let audio = await refusal(.audio(Data([1, 2, 3])), ["cat"])
    XCTAssertEqual(audio, "space 'clip' cannot embed audio inputs (it serves: text, image)")
    let broken = await refusal(.image(Data("not an image".utf8)), ["cat"])
    XCTAssertTrue(broken?.hasPrefix("image: ") ?? false, broken ?? "no error")
    let unknown = await refusal(image, ["cat"], space: "nope")
    XCTAssertEqual(unknown, "no space named 'nope' (available: clip, minilm)")
    // And the engine keeps serving.
    let outcome = try await engine.classify(space: "clip", input: image, labels: (0..<1000).map { "label \($0)" }, template: "a photo of a {}")
    XCTAssertEqual(outcome.scores.count, 1000)
    XCTAssertEqual(outcome.scores.map(\.probability).reduce(0, +), 1, accuracy: 1e-4)
  }
}
