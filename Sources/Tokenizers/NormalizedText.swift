/// Text on its way through the tokenizer, one Unicode scalar at a time, each scalar remembering which code
/// points of the caller's original text it stands for, so that every token can say where it came from.
///
/// Offsets are code-point indexes into the original text (as Python indexes a `str`), half-open.
public struct NormalizedText: Sendable, Equatable {
  public private(set) var scalars: [Unicode.Scalar] = []
  public private(set) var starts: [Int32] = []
  public private(set) var ends: [Int32] = []

  public init() {}

  /// The original text itself, its first scalar at code point `base`.
  public init<S: Sequence>(original: S, base: Int = 0) where S.Element == Unicode.Scalar {
    for (index, scalar) in original.enumerated() { append(scalar, start: base + index, end: base + index + 1) }
  }

  public var count: Int { scalars.count }
  public var isEmpty: Bool { scalars.isEmpty }
  public var string: String { String(String.UnicodeScalarView(scalars)) }

  public mutating func append(_ scalar: Unicode.Scalar, start: Int, end: Int) {
    scalars.append(scalar)
    starts.append(Int32(start))
    ends.append(Int32(end))
  }

  public mutating func reserve(_ capacity: Int) {
    scalars.reserveCapacity(capacity)
    starts.reserveCapacity(capacity)
    ends.reserveCapacity(capacity)
  }

  /// Scalars i..<j, with their origins.
  public func slice(_ range: Range<Int>) -> NormalizedText {
    var part = NormalizedText()
    part.scalars = Array(scalars[range])
    part.starts = Array(starts[range])
    part.ends = Array(ends[range])
    return part
  }

  /// The original span of scalars i..<j.
  public func span(_ range: Range<Int>) -> (start: Int, end: Int) {
    guard !range.isEmpty else { return (0, 0) }
    var start = Int32.max, end = Int32.min
    for i in range {
      start = min(start, starts[i])
      end = max(end, ends[i])
    }
    return (Int(start), Int(end))
  }

  /// Each scalar replaced by zero or more scalars, which all stand for the scalar they came from.
  public func mapScalars(_ transform: (Unicode.Scalar) -> MappedScalars) -> NormalizedText {
    var out = NormalizedText()
    out.reserve(count)
    for i in 0..<count {
      switch transform(scalars[i]) {
      case .keep: out.append(scalars[i], start: Int(starts[i]), end: Int(ends[i]))
      case .drop: continue
      case .replace(let replacement):
        for scalar in replacement { out.append(scalar, start: Int(starts[i]), end: Int(ends[i])) }
      }
    }
    return out
  }

  /// Runs of scalars replaced as a whole (`rewrite`, given the run's index and scalars, answers nil to keep a
  /// run as it is). `runs` cuts the text into consecutive runs.
  public func rewriteRuns(_ runs: [Range<Int>], _ rewrite: (Int, [Unicode.Scalar]) -> [Unicode.Scalar]?) -> NormalizedText {
    var out = NormalizedText()
    out.reserve(count)
    for (index, run) in runs.enumerated() {
      let piece = Array(scalars[run])
      guard let replacement = rewrite(index, piece), replacement != piece else {
        for i in run { out.append(scalars[i], start: Int(starts[i]), end: Int(ends[i])) }
        continue
      }
      // As the reference aligns a replacement: its i-th scalar stands for the run's i-th; extra scalars stand
      // for the run's last; run scalars beyond the replacement's length are simply consumed.
      for (offset, scalar) in replacement.enumerated() {
        let source = run.lowerBound + min(offset, run.count - 1)
        out.append(scalar, start: Int(starts[source]), end: Int(ends[source]))
      }
    }
    return out
  }

  /// `prefix` put in front; it stands for the first scalar.
  public func prepending(_ prefix: [Unicode.Scalar]) -> NormalizedText {
    guard !isEmpty else { return self }
    var out = NormalizedText()
    out.reserve(count + prefix.count)
    for scalar in prefix { out.append(scalar, start: Int(starts[0]), end: Int(ends[0])) }
    out.scalars += scalars
    out.starts += starts
    out.ends += ends
    return out
  }
}

/// What a per-scalar transformation does with one scalar.
public enum MappedScalars {
  case keep
  case drop
  case replace([Unicode.Scalar])
}

extension Unicode.Scalar {
  /// Rust's `char::is_whitespace` (the White_Space property), which the reference uses throughout.
  var isWhitespace: Bool {
    isASCII ? (value >= 9 && value <= 13) || value == 32 : properties.isWhitespace
  }
}
