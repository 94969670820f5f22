import Foundation
import Tensor

/// A checkpoint problem; the description names the file and what is wrong with it.
public struct CheckpointError: Error, CustomStringConvertible, Equatable {
  public var description: String
  public init(_ description: String) { self.description = description }
}

/// A `.safetensors` file, memory-mapped. F32 tensors are used in place (no second copy); F16 and BF16 are
/// converted to F32 when asked for. Every header field is validated before anything is read through it.
public final class SafeTensorsFile: @unchecked Sendable {
  public struct Entry: Equatable, Sendable {
    public var dtype: String
    public var shape: [Int]
    /// Byte range inside the data section.
    public var begin: Int
    public var end: Int
  }

  public let path: String
  public let entries: [String: Entry]
  public let metadata: [String: String]
  private let mapping: UnsafeMutableRawPointer
  private let mappedSize: Int
  private let dataStart: Int

  private static let elementSizes = ["F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1]

  public init(path: String) throws {
    self.path = path
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw CheckpointError("\(path): cannot open (\(String(cString: strerror(errno))))") }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw CheckpointError("\(path): cannot stat") }
    let size = Int(info.st_size)
    guard size >= 8 else { throw CheckpointError("\(path): \(size) bytes is too short for a safetensors file (8-byte header length missing)") }
    guard let map = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0), map != MAP_FAILED else {
      throw CheckpointError("\(path): cannot map (\(String(cString: strerror(errno))))")
    }
    mapping = map
    mappedSize = size
    do {
      let headerLength = Int(littleEndian: map.loadUnaligned(as: Int.self))
      guard headerLength > 0, headerLength <= size - 8, headerLength <= 100 << 20 else {
        throw CheckpointError("\(path): header length \(headerLength) does not fit a file of \(size) bytes")
      }
      dataStart = 8 + headerLength
      let headerData = Data(bytesNoCopy: map + 8, count: headerLength, deallocator: .none)
      guard let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
        throw CheckpointError("\(path): the header is not a JSON object")
      }
      (entries, metadata) = try Self.parse(header: header, dataSize: size - dataStart, path: path)
    } catch {
      munmap(map, size)
      throw error
    }
  }

  deinit { munmap(mapping, mappedSize) }

  private static func parse(header: [String: Any], dataSize: Int, path: String) throws -> ([String: Entry], [String: String]) {
    var entries: [String: Entry] = [:]
    var metadata: [String: String] = [:]
    for (name, value) in header {
      if name == "__metadata__" {
        metadata = (value as? [String: String]) ?? [:]
        continue
      }
      guard let fields = value as? [String: Any], let dtype = fields["dtype"] as? String,
        let shape = (fields["shape"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
        let offsets = (fields["data_offsets"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }), offsets.count == 2
      else { throw CheckpointError("\(path): tensor '\(name)' has a malformed header entry") }
      guard let elementSize = elementSizes[dtype] else {
        throw CheckpointError("\(path): tensor '\(name)' has unsupported dtype \(dtype)")
      }
      guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataSize else {
        throw CheckpointError("\(path): tensor '\(name)' has offsets \(offsets) outside the data section of \(dataSize) bytes")
      }
      let elements = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).partialValue }
      guard elements * elementSize == offsets[1] - offsets[0] else {
        throw CheckpointError("\(path): tensor '\(name)' of shape \(shape) and dtype \(dtype) needs \(elements * elementSize) bytes, its offsets give \(offsets[1] - offsets[0])")
      }
      entries[name] = Entry(dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1])
    }
    return (entries, metadata)
  }

  /// The tensor as Float32: in place for aligned F32, converted otherwise.
  public func tensor(_ name: String) throws -> Tensor {
    guard let entry = entries[name] else { throw CheckpointError("\(path): tensor '\(name)' is missing") }
    let source = mapping + dataStart + entry.begin
    let count = entry.shape.reduce(1, *)
    if entry.dtype == "F32" && Int(bitPattern: source) % 4 == 0 {
      return Tensor(shape: entry.shape, data: source.assumingMemoryBound(to: Float.self), owner: self)
    }
    let result = Tensor(zeros: entry.shape)
    switch entry.dtype {
    case "F32":
      for i in 0..<count { result.data[i] = Float(bitPattern: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))) }
    case "F16":
      for i in 0..<count { result.data[i] = Float(Float16(bitPattern: UInt16(littleEndian: source.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)))) }
    case "BF16":
      for i in 0..<count { result.data[i] = Float(bitPattern: UInt32(UInt16(littleEndian: source.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))) << 16) }
    default:
      throw CheckpointError("\(path): tensor '\(name)' has dtype \(entry.dtype); a float tensor is needed here")
    }
    return result
  }

  /// The tensor, checked against the shape the architecture expects.
  public func tensor(_ name: String, shape expected: [Int]) throws -> Tensor {
    guard let entry = entries[name] else {
      throw CheckpointError("\(path): tensor '\(name)' is missing (expected shape \(expected))")
    }
    guard entry.shape == expected else {
      throw CheckpointError("\(path): tensor '\(name)' has shape \(entry.shape), expected \(expected)")
    }
    return try tensor(name)
  }
}
