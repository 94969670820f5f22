/// A dense row-major Float32 tensor. Storage is either owned (allocated here) or borrowed from a memory-mapped
/// checkpoint, which `owner` keeps alive; either way `data` is the first element.
public struct Tensor: @unchecked Sendable {
  public let shape: [Int]
  public let data: UnsafeMutablePointer<Float>
  /// Keeps the memory alive: an `OwnedBuffer`, or the mapping the data points into.
  private let owner: AnyObject

  public var count: Int { shape.reduce(1, *) }
  public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: data, count: count) }

  /// A zero-filled tensor.
  public init(zeros shape: [Int]) {
    let owned = OwnedBuffer(count: shape.reduce(1, *))
    self.init(shape: shape, data: owned.pointer, owner: owned)
  }

  public init(shape: [Int], values: [Float]) {
    precondition(values.count == shape.reduce(1, *), "\(values.count) values for shape \(shape)")
    self.init(zeros: shape)
    values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: values.count) }
  }

  /// A tensor over memory someone else owns (a mapped file); `owner` is retained for the tensor's lifetime.
  public init(shape: [Int], data: UnsafeMutablePointer<Float>, owner: AnyObject) {
    self.shape = shape
    self.data = data
    self.owner = owner
  }

  public var array: [Float] { Array(buffer) }

  /// The items `range` of the leading dimension, as a view over the same memory.
  public func slice(_ range: Range<Int>) -> Tensor {
    let itemValues = shape.dropFirst().reduce(1, *)
    return Tensor(shape: [range.count] + shape.dropFirst(), data: data + range.lowerBound * itemValues, owner: owner)
  }

  /// Row `index` of a 2-D tensor.
  public func row(_ index: Int) -> UnsafeMutableBufferPointer<Float> {
    let width = shape[shape.count - 1]
    return UnsafeMutableBufferPointer(start: data + index * width, count: width)
  }
}

/// Heap memory for owned tensors, 64-byte aligned for SIMD loads.
final class OwnedBuffer {
  let pointer: UnsafeMutablePointer<Float>

  init(count: Int) {
    let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
    raw.initializeMemory(as: Float.self, repeating: 0, count: max(count, 1))
    pointer = raw.assumingMemoryBound(to: Float.self)
  }

  deinit { pointer.deallocate() }
}

extension Tensor {
  /// Stacks tensors along the first dimension into a new owned tensor (e.g. q, k, v weights into one QKV weight).
  public static func concatenate(_ parts: [Tensor]) -> Tensor {
    let tail = Array(parts[0].shape.dropFirst())
    precondition(parts.allSatisfy { Array($0.shape.dropFirst()) == tail }, "concatenate: shapes differ")
    let result = Tensor(zeros: [parts.reduce(0) { $0 + $1.shape[0] }] + tail)
    var offset = 0
    for part in parts {
      (result.data + offset).update(from: part.data, count: part.count)
      offset += part.count
    }
    return result
  }
}

extension Tensor {
  /// The same storage under another shape with as many elements (no copy).
  public func reshaped(_ shape: [Int]) -> Tensor {
    precondition(shape.reduce(1, *) == count, "reshaped: \(self.shape) has \(count) elements, \(shape) needs \(shape.reduce(1, *))")
    return Tensor(shape: shape, data: data, owner: owner)
  }
}
