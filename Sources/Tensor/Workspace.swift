import Synchronization

/// Reusable scratch buffers for forward passes. Big fresh allocations cost page faults on every call; a
/// workspace keeps its buffers (growing them when a larger batch comes) and hands out tensors over them.
/// A `WorkspacePool` lends one workspace per concurrent forward pass.
public final class Workspace: @unchecked Sendable {
  private var buffers: [OwnedBuffer?] = []
  private var capacities: [Int] = []

  public init() {}

  /// A tensor of `shape` over slot `slot`'s buffer; contents are whatever the last user left (not zeroed).
  public func tensor(_ slot: Int, _ shape: [Int]) -> Tensor {
    let count = shape.reduce(1, *)
    while buffers.count <= slot {
      buffers.append(nil)
      capacities.append(0)
    }
    if capacities[slot] < count {
      buffers[slot] = OwnedBuffer(count: count)
      capacities[slot] = count
    }
    let buffer = buffers[slot]!
    return Tensor(shape: shape, data: buffer.pointer, owner: buffer)
  }
}

public final class WorkspacePool: Sendable {
  private let idle = Mutex<[Workspace]>([])

  public init() {}

  /// Runs `body` with a workspace nobody else is using.
  public func withWorkspace<R>(_ body: (Workspace) throws -> R) rethrows -> R {
    let workspace = idle.withLock { $0.popLast() } ?? Workspace()
    defer { idle.withLock { $0.append(workspace) } }
    return try body(workspace)
  }
}
