import Foundation
import Logging

/// One line per event on stderr. Under systemd (JOURNAL_STREAM set) each line starts with the syslog priority
/// in angle brackets, which journald turns into the entry's priority, and the timestamp is left to the journal;
/// on a terminal the line carries its own timestamp and level.
public struct StderrLogHandler: LogHandler {
  public var logLevel: Logger.Level
  public var metadata: Logger.Metadata = [:]
  private let label: String
  private let forJournal: Bool

  public init(label: String, level: Logger.Level, environment: [String: String]) {
    self.label = label
    self.logLevel = level
    self.forJournal = environment["JOURNAL_STREAM"] != nil
  }

  public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  public func log(event: LogEvent) {
    let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
    var line = forJournal ? "<\(Self.priority(event.level))>" : "\(Self.timestamp()) \(event.level.rawValue.uppercased()) "
    // Newlines would split one event into several journal entries.
    line += "\(event.message)".replacingOccurrences(of: "\n", with: " ")
    if !merged.isEmpty {
      line += " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }
    line += "\n"
    FileHandle.standardError.write(Data(line.utf8))
  }

  private static func priority(_ level: Logger.Level) -> Int {
    switch level {
    case .trace, .debug: 7
    case .info: 6
    case .notice: 5
    case .warning: 4
    case .error: 3
    case .critical: 2
    }
  }

  private static func timestamp() -> String {
    Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true))
  }
}
