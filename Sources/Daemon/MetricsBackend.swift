import CoreMetrics
import Prometheus

/// swift-metrics → the Prometheus registry, with a HELP line for every Chorus metric (promtool's lint asks for
/// one, and swift-prometheus's own factory writes none) and buckets that fit what Chorus measures.
struct MetricsBackend: MetricsFactory {
  let registry: PrometheusCollectorRegistry

  static let help: [String: String] = [
    "chorus_requests_total": "Requests answered, by API (grpc, http), method and status code.",
    "chorus_request_duration_seconds": "Time from a request's arrival to its answer.",
    "chorus_embed_inputs_total": "Inputs embedded, by outcome: computed, cached or failed.",
    "chorus_batch_size": "Inputs in each batch an encoder ran.",
    "chorus_inference_duration_seconds": "Time an encoder took for one batch.",
    "chorus_search_duration_seconds": "Time a collection search took in the store.",
    "chorus_rejected_requests_total": "Requests refused before their work began, by reason.",
  ]
  static let durationBuckets: [Duration] = [
    .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
    .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    .seconds(30),
  ]
  static let valueBuckets: [String: [Double]] = ["chorus_batch_size": [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]]

  private func descriptor(_ label: String) -> MetricNameDescriptor {
    MetricNameDescriptor(metricName: label, unitName: "", helpText: Self.help[label] ?? "")
  }

  func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
    registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
  }

  func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
    registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
  }

  func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
    guard aggregate else { return registry.makeGauge(descriptor: descriptor(label), labels: dimensions) }
    return registry.makeValueHistogram(descriptor: descriptor(label), labels: dimensions, buckets: Self.valueBuckets[label] ?? [1, 10, 100, 1000])
  }

  func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
    registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
  }

  func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
    registry.makeDurationHistogram(descriptor: descriptor(label), labels: dimensions, buckets: Self.durationBuckets)
  }

  func destroyCounter(_ handler: any CounterHandler) {
    if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
  }

  func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
    if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
  }

  func destroyRecorder(_ handler: any RecorderHandler) {
    if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
    if let histogram = handler as? ValueHistogram { registry.unregisterValueHistogram(histogram) }
  }

  func destroyMeter(_ handler: any MeterHandler) {
    if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
  }

  func destroyTimer(_ handler: any TimerHandler) {
    if let histogram = handler as? DurationHistogram { registry.unregisterDurationHistogram(histogram) }
  }
}
