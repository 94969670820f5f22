import ArgumentParser
import ChorusAPI
import Foundation
import GRPCCore

struct ImportCommand: ChorusSubcommand {
  static let configuration = CommandConfiguration(
    commandName: "import", abstract: "Import precomputed vectors: JSON lines {\"id\": …, \"vector\": [...], \"metadata\": {…}}.",
    discussion: "Bad lines are reported with their line numbers and skipped; exit 1 when any line failed.")

  @OptionGroup var connection: ConnectionOptions
  @Argument(help: "The collection.") var collection: String
  @Argument(help: "The JSON-lines file.") var file: String
  @Option(help: "Items per request.") var batch: Int = 256

  func execute() async throws {
    guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
      throw CLIFailure.connection("cannot read \(file) as UTF-8 text")
    }
    var failures: [String] = []
    var items: [(line: Int, item: Chorus_V1_UpsertItem)] = []
    for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let trimmed = line.trimmingCharacters(in: .whitespaces)
      if trimmed.isEmpty { continue }
      guard let object = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [String: Any],
        let vector = object["vector"] as? [NSNumber]
      else {
        failures.append("line \(index + 1): not an object with a \"vector\" array")
        continue
      }
      var item = Chorus_V1_UpsertItem()
      item.id = (object["id"] as? String) ?? (object["id"] as? NSNumber)?.stringValue ?? ""
      item.vector = .with { $0.values = vector.map(\.floatValue) }
      if let metadata = object["metadata"] as? [String: Any] {
        item.metadata = metadata.mapValues { ($0 as? String) ?? "\($0)" }
      }
      if let source = object["source"] as? String { item.source = source }
      items.append((index + 1, item))
    }
    var stored = 0
    try await callDaemon(connection) { client in
      let service = Chorus_V1_CollectionService.Client(wrapping: client)
      var start = 0
      while start < items.count {
        let chunk = items[start..<min(start + max(batch, 1), items.count)]
        start += chunk.count
        let response = try await service.upsert(.with {
          $0.collection = collection
          $0.items = chunk.map(\.item)
        })
        for (entry, result) in zip(chunk, response.results) {
          if case .error(let error) = result.outcome {
            failures.append("line \(entry.line): \(StatusName.of(Int(error.code))): \(error.message)")
          } else {
            stored += 1
          }
        }
      }
    }
    print("imported \(stored), failed \(failures.count)")
    for failure in failures { print("  \(failure)") }
    if !failures.isEmpty { throw ExitCode(1) }
  }
}
