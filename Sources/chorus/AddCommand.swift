import ArgumentParser
import ChorusAPI
import ContentSniffing
import Foundation
import GRPCCore
import Hashing

struct AddCommand: ChorusSubcommand {
  static let configuration = CommandConfiguration(
    commandName: "add",
    abstract: "Add files to a collection: folders are walked, each file's modality is told by its content, files already there are skipped.",
    discussion: "Exit 0 when every file was added or skipped, 1 when any failed (they are listed).")

  @OptionGroup var connection: ConnectionOptions
  @Argument(help: "The collection.") var collection: String
  @Argument(help: "Files and folders.") var paths: [String]
  @Option(help: "Files per request.") var batch: Int = 32

  struct Candidate {
    var path: String
    var data: Data
    var modality: String
    var hash: String
  }

  func execute() async throws {
    var files: [String] = []
    var failures: [(String, String)] = []
    for path in paths { Self.walk(path, into: &files, failures: &failures) }
    let progress = Progress(total: files.count)
    var added = 0, skipped = 0
    try await callDaemon(connection) { client in
      let service = Chorus_V1_CollectionService.Client(wrapping: client)
      _ = try await service.getCollection(.with { $0.name = collection })
      // Upserts stay under the daemon's request limit (with room for ids and metadata); a file that alone is over
      // it is listed as failed instead of failing its whole batch.
      let limit = Int(try await Chorus_V1_SystemService.Client(wrapping: client).getInfo(.init()).maxRequestBytes)
      let budget = max(limit - limit / 8 - 4096, 1)
      var start = 0
      while start < files.count {
        let chunk = files[start..<min(start + max(batch, 1), files.count)]
        start += chunk.count
        var candidates: [Candidate] = []
        for path in chunk {
          guard let data = FileManager.default.contents(atPath: path) else {
            failures.append((path, "cannot read it"))
            continue
          }
          guard let modality = ContentKind.modality(of: data) else {
            failures.append((path, "not text, image or audio"))
            continue
          }
          candidates.append(Candidate(path: path, data: data, modality: modality, hash: SHA256Hasher.hexDigest(of: data)))
        }
        let present = Set(try await service.findContent(.with {
          $0.collection = collection
          $0.contentHashes = candidates.map(\.hash)
        }).present)
        var fresh: [Candidate] = []
        for candidate in candidates where !present.contains(candidate.hash) {
          if candidate.data.count > budget {
            failures.append((candidate.path, "RESOURCE_EXHAUSTED: \(candidate.data.count) bytes, over what one request to this daemon may carry (max_request_bytes \(limit))"))
          } else {
            fresh.append(candidate)
          }
        }
        skipped += candidates.filter { present.contains($0.hash) }.count
        for fresh in Self.byteBatches(fresh, budget: budget) {
          let response = try await service.upsert(.with {
            $0.collection = collection
            $0.items = fresh.map { candidate in
              .with {
                $0.id = candidate.path.utf8.count <= 256 ? candidate.path : candidate.hash
                $0.source = candidate.path
                $0.metadata = ["file": (candidate.path as NSString).lastPathComponent]
                $0.content = .with {
                  switch candidate.modality {
                  case "text": $0.text = String(decoding: candidate.data, as: UTF8.self)
                  case "image": $0.image = candidate.data
                  default: $0.audio = candidate.data
                  }
                }
              }
            }
          })
          for (candidate, result) in zip(fresh, response.results) {
            if case .error(let error) = result.outcome {
              failures.append((candidate.path, "\(StatusName.of(Int(error.code))): \(error.message)"))
            } else {
              added += 1
            }
          }
        }
        progress.advance(by: chunk.count)
      }
    }
    progress.finish()
    print("added \(added), skipped \(skipped) already there, failed \(failures.count)")
    for (path, reason) in failures { print("  failed: \(path): \(reason)") }
    if !failures.isEmpty { throw ExitCode(1) }
  }

  /// Consecutive groups of candidates whose contents add up to at most `budget` bytes.
  static func byteBatches(_ candidates: [Candidate], budget: Int) -> [[Candidate]] {
    var batches: [[Candidate]] = [], current: [Candidate] = [], bytes = 0
    for candidate in candidates {
      if !current.isEmpty && bytes + candidate.data.count > budget {
        batches.append(current)
        (current, bytes) = ([], 0)
      }
      current.append(candidate)
      bytes += candidate.data.count
    }
    if !current.isEmpty { batches.append(current) }
    return batches
  }

  /// Regular files under `path` (itself when it is one), sorted, hidden entries skipped.
  static func walk(_ path: String, into files: inout [String], failures: inout [(String, String)]) {
    let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: absolute, isDirectory: &isDirectory) else {
      failures.append((absolute, "no such file or folder"))
      return
    }
    guard isDirectory.boolValue else {
      files.append(absolute)
      return
    }
    let enumerator = FileManager.default.enumerator(
      at: URL(fileURLWithPath: absolute), includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles])
    var found: [String] = []
    while let url = enumerator?.nextObject() as? URL {
      if (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true { found.append(url.path) }
    }
    files.append(contentsOf: found.sorted())
  }
}

/// A one-line progress bar with rate and ETA, on a terminal only (stderr), so piped output stays clean.
final class Progress {
  let total: Int
  private var done = 0
  private let started = Date()
  private let enabled = isatty(STDERR_FILENO) == 1

  init(total: Int) {
    self.total = total
  }

  func advance(by count: Int) {
    done += count
    guard enabled, total > 0 else { return }
    let elapsed = max(Date().timeIntervalSince(started), 0.001)
    let rate = Double(done) / elapsed
    let eta = rate > 0 ? Double(total - done) / rate : 0
    let width = 30, filled = width * done / total
    let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
    FileHandle.standardError.write(Data(String(format: "\r[%@] %d/%d files, %.1f files/s, ETA %.0f s ", bar, done, total, rate, eta).utf8))
  }

  func finish() {
    if enabled && total > 0 { FileHandle.standardError.write(Data("\n".utf8)) }
  }
}
