import Metrics
import Synchronization

/// swift-metrics handles made once per label values and reused: making one asks the backend (a lock, label
/// checks, a registry lookup), which is too much to do for every request.
public final class MetricHandles<Handle: Sendable>: Sendable {
  private let handles = Mutex<[[String]: Handle]>([:])
  private let make: @Sendable ([String]) -> Handle

  public init(_ make: @escaping @Sendable ([String]) -> Handle) {
    self.make = make
  }

  public func callAsFunction(_ values: String...) -> Handle {
    handles.withLock { handles in
      if let handle = handles[values] { return handle }
      let handle = make(values)
      handles[values] = handle
      return handle
    }
  }
}

/// What the engine reports through swift-metrics (the daemon picks the backend: Prometheus). Labels are the
/// space and the modality only; never an input, a hash or an id, so the number of series stays small.
struct EncoderMetrics: Sendable {
  let batchSize: Recorder
  let inference: Timer
  let queueFull: Counter
  let deadlineUnmeetable: Counter

  init(space: String, modality: Modality) {
    let labels = [("space", space), ("modality", modality.rawValue)]
    batchSize = Recorder(label: "chorus_batch_size", dimensions: labels, aggregate: true)
    inference = Timer(label: "chorus_inference_duration_seconds", dimensions: labels)
    queueFull = Counter(label: "chorus_rejected_requests_total", dimensions: [("reason", "queue_full")])
    deadlineUnmeetable = Counter(label: "chorus_rejected_requests_total", dimensions: [("reason", "deadline_unmeetable")])
  }
}

/// `chorus_embed_inputs_total{space,modality,outcome}`: each input once, as computed, cached or failed.
enum EmbedOutcomeMetrics {
  static let counters = MetricHandles { values in
    Counter(label: "chorus_embed_inputs_total", dimensions: [("space", values[0]), ("modality", values[1]), ("outcome", values[2])])
  }

  static func record(space: String, inputs: [EmbedInput], results: [Result<EmbeddingOutput, InputError>]) {
    var counts: [String: [String: Int]] = [:]  // modality → outcome → count
    for (input, result) in zip(inputs, results) {
      switch result {
      case .success(let output): counts[output.modality.rawValue, default: [:]][output.cached ? "cached" : "computed", default: 0] += 1
      case .failure: counts[input.declaredModality, default: [:]]["failed", default: 0] += 1
      }
    }
    for (modality, outcomes) in counts {
      for (outcome, count) in outcomes {
        counters(space, modality, outcome).increment(by: count)
      }
    }
  }
}

extension EmbedInput {
  /// The modality a failed input was meant for; "file" when a server-side file failed before its kind was known.
  var declaredModality: String {
    switch self {
    case .text, .tokenIDs: Modality.text.rawValue
    case .image: Modality.image.rawValue
    case .audio: Modality.audio.rawValue
    case .file(_, let modality): modality?.rawValue ?? "file"
    }
  }
}
