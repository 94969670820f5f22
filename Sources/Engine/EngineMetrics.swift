import Metrics

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
        Counter(label: "chorus_embed_inputs_total", dimensions: [("space", space), ("modality", modality), ("outcome", outcome)]).increment(by: count)
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
