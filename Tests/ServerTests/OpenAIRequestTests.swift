import Engine
import XCTest

@testable import Server

final class OpenAIRequestTests: XCTestCase {
  func parse(_ json: String) throws -> OpenAIEmbeddingsRequest { try OpenAIEmbeddingsRequest(json: Array(json.utf8)) }

  func testEveryInputShape() throws {
    XCTAssertEqual(try parse(#"{"input": "a"}"#).inputs.count, 1)
    XCTAssertEqual(try parse(#"{"input": ["a", "b"], "model": "default"}"#).space, "")
    guard case .tokenIDs(let ids) = try parse(#"{"input": [1, 2, 3]}"#).inputs.first else { return XCTFail("a flat list of numbers is one input of ids") }
    XCTAssertEqual(ids, [1, 2, 3])
    XCTAssertEqual(try parse(#"{"input": [[1, 2], [3]]}"#).inputs.count, 2)
    let mixed = try parse(#"{"input": ["t", {"text": "u"}, {"image": "aGk="}, {"audio": "data:audio/wav;base64,aGk="}], "model": "clip"}"#)
    XCTAssertEqual(mixed.inputs.count, 4)
    XCTAssertEqual(mixed.space, "clip")
    guard case .image(let data) = mixed.inputs[2] else { return XCTFail("image") }
    XCTAssertEqual(data, Data("hi".utf8))
    let options = try parse(#"{"input": "a", "encoding_format": "base64", "dimensions": 8, "user": "me"}"#)
    XCTAssertEqual(options.format, .base64)
    XCTAssertEqual(options.dimensions, 8)
  }

  func testProblemsNameTheField() {
    for (json, field) in [
      (#"{"input": [true]}"#, "input"), (#"{"input": [1.5]}"#, "input"), (#"{"input": "a", "model": 3}"#, "model"),
      (#"{"input": "a", "dimensions": 1.5}"#, "dimensions"), (#"{"input": "a", "user": 1}"#, "user"), (#"{}"#, "input"),
      (#"{"input": [{"text": "a", "image": "b"}]}"#, "input"), (#"{"input": [[2147483648]]}"#, "input"),
    ] {
      XCTAssertThrowsError(try parse(json), json) { XCTAssertEqual(($0 as? HTTPProblem)?.param, field, json) }
    }
  }

  /// Random and mutated bodies: the parser answers each with a value or an HTTPProblem (400), never anything else.
  func testArbitraryBytesOnlyEverGiveAProblem() {
    var generator = SystemRandomNumberGenerator()
    let seeds = [#"{"input": ["a", [1, 2], {"image": "data:image/png;base64,aGk="}], "dimensions": 3}"#, #"{"input": [[[[[]]]]]}"#, "[]", "{}"]
    for round in 0..<20_000 {
      var bytes = Array(seeds[round % seeds.count].utf8)
      for _ in 0..<Int.random(in: 1...4, using: &generator) {
        let at = Int.random(in: 0..<max(1, bytes.count), using: &generator)
        switch Int.random(in: 0..<3, using: &generator) {
        case 0 where !bytes.isEmpty: bytes[at] = UInt8.random(in: 0...255, using: &generator)
        case 1 where !bytes.isEmpty: bytes.remove(at: at)
        default: bytes.insert(UInt8.random(in: 0...255, using: &generator), at: min(at, bytes.count))
        }
      }
      do {
        _ = try OpenAIEmbeddingsRequest(json: bytes)
      } catch let problem as HTTPProblem {
        XCTAssertEqual(problem.status.code, 400)
      } catch {
        XCTFail("\(error) for \(String(decoding: bytes, as: UTF8.self))")
      }
    }
  }

  func testShortenedVectorsAreRenormalised() {
    let shortened = OpenAIEmbeddingsResponse.shortened([3, 4, 12], to: 2)
    XCTAssertEqual(shortened, [0.6, 0.8])
  }

  func testResponseIsOpenAIsShape() throws {
    let outputs = [EmbeddingOutput(modality: .text, vector: [0.5, -0.25], cached: false, truncated: false, contentHash: "", tokens: 3)]
    let body = OpenAIEmbeddingsResponse.encode(outputs, model: "m\"x", format: .float, dimensions: nil)
    let object = try JSONSerialization.jsonObject(with: Data(body)) as! [String: Any]
    XCTAssertEqual(object["object"] as? String, "list")
    XCTAssertEqual(object["model"] as? String, "m\"x")
    XCTAssertEqual((object["usage"] as? [String: Int])?["prompt_tokens"], 3)
    let first = (object["data"] as! [[String: Any]])[0]
    XCTAssertEqual(first["embedding"] as? [Double], [0.5, -0.25])
    let base64 = OpenAIEmbeddingsResponse.encode(outputs, model: "m", format: .base64, dimensions: nil)
    let encoded = ((try JSONSerialization.jsonObject(with: Data(base64)) as! [String: Any])["data"] as! [[String: Any]])[0]["embedding"] as! String
    XCTAssertEqual(Data(base64Encoded: encoded), Data([0, 0, 0, 0x3F, 0, 0, 0x80, 0xBE]))
  }

  func testStatusTableFollowsGRPCGateway() {
    XCTAssertEqual(HTTPProblem.status(.invalidArgument).code, 400)
    XCTAssertEqual(HTTPProblem.status(.notFound).code, 404)
    XCTAssertEqual(HTTPProblem.status(.alreadyExists).code, 409)
    XCTAssertEqual(HTTPProblem.status(.permissionDenied).code, 403)
    XCTAssertEqual(HTTPProblem.status(.resourceExhausted).code, 429)
    XCTAssertEqual(HTTPProblem.status(.failedPrecondition).code, 400)
    XCTAssertEqual(HTTPProblem.status(.unimplemented).code, 501)
    XCTAssertEqual(HTTPProblem.status(.unavailable).code, 503)
    XCTAssertEqual(HTTPProblem.status(.deadlineExceeded).code, 504)
    XCTAssertEqual(HTTPProblem.status(.cancelled).code, 499)
  }
}
