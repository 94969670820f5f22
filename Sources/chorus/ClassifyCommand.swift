import ArgumentParser
import ChorusAPI
import Foundation
import GRPCCore

struct ClassifyCommand: ChorusSubcommand {
  static let configuration = CommandConfiguration(
    commandName: "classify",
    abstract: "Zero-shot classification: how well each label describes an image, a sound or a text.",
    discussion: """
      Probabilities are computed as the space's model family does: CLIP and CLAP a softmax over the labels, SigLIP a
      sigmoid per label. Example: chorus classify --image cat.jpg --label cat --label dog --template "a photo of a {}"
      """
  )

  @OptionGroup var connection: ConnectionOptions
  @Option(help: "Space to classify in (default: the daemon's default space).") var space: String?
  @Option(help: "The image file (JPEG, PNG) to classify.") var image: String?
  @Option(help: "The audio file to classify.") var audio: String?
  @Option(help: "The text to classify.") var text: String?
  @Option(help: "A label (repeatable, 1 to 1000, each once).") var label: [String] = []
  @Option(help: "Put each label where {} stands, e.g. \"a photo of a {}\".") var template: String?
  @Flag(help: "Print one JSON object per label, {\"label\": …, \"probability\": …}, in the order given.") var json = false

  func validate() throws {
    guard [image, audio, text].compactMap({ $0 }).count == 1 else { throw ValidationError("give exactly one of --image, --audio, --text") }
    guard !label.isEmpty else { throw ValidationError("give at least one --label") }
  }

  struct LabelJSON: Encodable {
    var label: String
    var probability: Float
  }

  func execute() async throws {
    var request = Chorus_V1_ClassifyRequest()
    request.space = space ?? ""
    request.labels = label
    request.template = template ?? ""
    if let image { request.input = .with { $0.image = SearchCommand.read(image) } }
    if let audio { request.input = .with { $0.audio = SearchCommand.read(audio) } }
    if let text { request.input = .with { $0.text = text } }
    let response = try await callDaemon(connection) { client in
      try await Chorus_V1_EmbeddingService.Client(wrapping: client).classify(request)
    }
    if json {
      for score in response.scores { printJSONLine(LabelJSON(label: score.label, probability: score.probability)) }
      return
    }
    let width = min(40, response.scores.map(\.label.count).max() ?? 0)
    for score in response.scores {
      let bar = String(repeating: "█", count: Int((score.probability * 20).rounded()))
      print("\(score.label.padding(toLength: max(width, score.label.count), withPad: " ", startingAt: 0))  \(String(format: "%.4f", score.probability))  \(bar)")
    }
    if !response.learnedTemperature { FileHandle.standardError.write(Data("chorus: note: \(response.note)\n".utf8)) }
  }
}
