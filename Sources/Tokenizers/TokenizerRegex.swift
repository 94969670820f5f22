import Foundation

/// A tokenizer.json regular expression (written for Oniguruma, as the reference compiles it), run with ICU
/// through Foundation. The one difference that matters for tokenizer patterns is `\s`: Oniguruma's matches the
/// White_Space property (vertical tab and U+0085 included), ICU's does not, so `\s` and `\S` are rewritten.
public final class TokenizerRegex: @unchecked Sendable {
  public let pattern: String
  private let expression: NSRegularExpression

  public init(_ pattern: String) throws {
    self.pattern = pattern
    do {
      expression = try NSRegularExpression(pattern: Self.translate(pattern))
    } catch {
      throw TokenizerError("the regular expression \(pattern.debugDescription) does not compile: \(error)")
    }
  }

  /// The matches in `scalars`, as scalar index ranges, left to right, empty matches dropped.
  public func matches(in scalars: [Unicode.Scalar]) -> [Range<Int>] {
    guard !scalars.isEmpty else { return [] }
    // UTF-16 index → scalar index, for mapping ICU's ranges back.
    var scalarAt = [Int32]()
    scalarAt.reserveCapacity(scalars.count + 1)
    var view = String.UnicodeScalarView()
    for (index, scalar) in scalars.enumerated() {
      view.append(scalar)
      scalarAt.append(Int32(index))
      if scalar.value > 0xFFFF { scalarAt.append(Int32(index)) }
    }
    scalarAt.append(Int32(scalars.count))
    let text = String(view)
    return expression.matches(in: text, range: NSRange(location: 0, length: scalarAt.count - 1)).compactMap { match in
      let range = match.range
      guard range.length > 0 else { return nil }
      return Int(scalarAt[range.location])..<Int(scalarAt[range.location + range.length])
    }
  }

  static func translate(_ pattern: String) -> String {
    var out = ""
    var iterator = pattern.makeIterator()
    while let character = iterator.next() {
      guard character == "\\", let escaped = iterator.next() else {
        out.append(character)
        continue
      }
      switch escaped {
      case "s": out += "\\p{White_Space}"
      case "S": out += "\\P{White_Space}"
      default: out += "\\" + String(escaped)
      }
    }
    return out
  }
}
