import Foundation

/// A JSON value whose objects keep every key, in order, byte for byte.
///
/// Swift's `String` compares and hashes by canonical equivalence, so a `[String: Any]` (what JSONSerialization
/// gives) folds "é" (U+00E9) and "e" + U+0301 into one key. Vocabularies hold both as different tokens, so
/// vocabularies are read with this parser and kept in `ExactString`-keyed tables.
enum ExactJSON {
  case object([(key: String, value: ExactJSON)])
  case array([ExactJSON])
  case string(String)
  case number(Double)
  case bool(Bool)
  case null

  static func parse(_ data: Data) throws -> ExactJSON {
    var parser = Parser(bytes: [UInt8](data))
    let value = try parser.value()
    parser.skipSpace()
    guard parser.position == parser.bytes.count else { throw parser.error("trailing characters") }
    return value
  }

  subscript(key: String) -> ExactJSON? {
    guard case .object(let members) = self else { return nil }
    return members.first(where: { $0.key == key })?.value
  }

  /// The Foundation form (objects as dictionaries), for everything that is not a vocabulary.
  var foundation: Any {
    switch self {
    case .object(let members):
      var dictionary: [String: Any] = [:]
      for member in members { dictionary[member.key] = member.value.foundation }
      return dictionary
    case .array(let values): return values.map(\.foundation)
    case .string(let text): return text
    case .number(let number): return NSNumber(value: number)
    case .bool(let flag): return flag
    case .null: return NSNull()
    }
  }

  private struct Parser {
    let bytes: [UInt8]
    var position = 0

    func error(_ what: String) -> TokenizerError { TokenizerError("JSON: \(what) at byte \(position)") }

    mutating func skipSpace() {
      while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    mutating func expect(_ literal: String) throws {
      for byte in literal.utf8 {
        guard position < bytes.count, bytes[position] == byte else { throw error("expected \(literal)") }
        position += 1
      }
    }

    mutating func value() throws -> ExactJSON {
      skipSpace()
      guard position < bytes.count else { throw error("unexpected end") }
      switch bytes[position] {
      case UInt8(ascii: "{"):
        position += 1
        var members: [(key: String, value: ExactJSON)] = []
        skipSpace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
          position += 1
          return .object(members)
        }
        while true {
          skipSpace()
          let key = try string()
          skipSpace()
          try expect(":")
          members.append((key, try value()))
          skipSpace()
          guard position < bytes.count else { throw error("unterminated object") }
          position += 1
          if bytes[position - 1] == UInt8(ascii: "}") { return .object(members) }
          guard bytes[position - 1] == UInt8(ascii: ",") else { throw error("expected , or }") }
        }
      case UInt8(ascii: "["):
        position += 1
        var values: [ExactJSON] = []
        skipSpace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
          position += 1
          return .array(values)
        }
        while true {
          values.append(try value())
          skipSpace()
          guard position < bytes.count else { throw error("unterminated array") }
          position += 1
          if bytes[position - 1] == UInt8(ascii: "]") { return .array(values) }
          guard bytes[position - 1] == UInt8(ascii: ",") else { throw error("expected , or ]") }
        }
      case UInt8(ascii: "\""): return .string(try string())
      case UInt8(ascii: "t"):
        try expect("true")
        return .bool(true)
      case UInt8(ascii: "f"):
        try expect("false")
        return .bool(false)
      case UInt8(ascii: "n"):
        try expect("null")
        return .null
      default:
        let start = position
        while position < bytes.count, "+-0123456789.eE".utf8.contains(bytes[position]) { position += 1 }
        guard let number = Double(String(decoding: bytes[start..<position], as: UTF8.self)) else { throw error("not a value") }
        return .number(number)
      }
    }

    mutating func string() throws -> String {
      guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw error("expected a string") }
      position += 1
      var out: [UInt8] = []
      while true {
        guard position < bytes.count else { throw error("unterminated string") }
        let byte = bytes[position]
        position += 1
        if byte == UInt8(ascii: "\"") { break }
        guard byte == UInt8(ascii: "\\") else {
          out.append(byte)
          continue
        }
        guard position < bytes.count else { throw error("unterminated escape") }
        let escaped = bytes[position]
        position += 1
        switch escaped {
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "u"):
          var code = try hex4()
          if (0xD800..<0xDC00).contains(code), position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") {
            position += 2
            let low = try hex4()
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
          }
          out.append(contentsOf: String(Unicode.Scalar(code) ?? "\u{FFFD}").utf8)
        default: out.append(escaped)  // \" \\ \/
        }
      }
      return String(decoding: out, as: UTF8.self)
    }

    mutating func hex4() throws -> UInt32 {
      guard position + 4 <= bytes.count, let value = UInt32(String(decoding: bytes[position..<position + 4], as: UTF8.self), radix: 16) else {
        throw error("bad \\u escape")
      }
      position += 4
      return value
    }
  }
}

/// A string compared and hashed byte for byte (not by canonical equivalence, as `String` is).
struct ExactString: Hashable, Sendable {
  let value: String

  init(_ value: String) { self.value = value }

  static func == (a: ExactString, b: ExactString) -> Bool { a.value.utf8.elementsEqual(b.value.utf8) }

  func hash(into hasher: inout Hasher) {
    var copy = value
    copy.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
  }
}
