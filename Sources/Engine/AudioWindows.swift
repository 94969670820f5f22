import Media

/// Cuts a clip into windows of `window` samples, each starting `overlap` samples before the previous one ends,
/// reading only as far as the windows asked for. Used by one task at a time (hence unchecked Sendable).
final class AudioWindows: @unchecked Sendable {
  struct Window {
    var start: Int
    var samples: [Float]
    /// Samples this window adds past the previous one's end.
    var fresh: Int
  }

  private let reader: AudioReader
  let window: Int
  let overlap: Int
  private var carried: [Float] = []
  private var start = 0
  private(set) var finished = false

  init(reader: AudioReader, window: Int, overlap: Int) {
    self.reader = reader
    self.window = window
    self.overlap = overlap
  }

  /// Up to `count` more windows; the last one may be short (it is padded by the feature extractor).
  func next(_ count: Int) throws(MediaDecodeError) -> [Window] {
    var out: [Window] = []
    while out.count < count && !finished {
      let more = try reader.read(window - carried.count)
      if more.isEmpty {
        finished = true
        break
      }
      let samples = carried + more
      out.append(Window(start: start, samples: samples, fresh: more.count))
      if samples.count < window {
        finished = true
        break
      }
      carried = Array(samples.suffix(overlap))
      start += window - overlap
    }
    return out
  }
}
