/// What the front end knows of a call beyond its message: who asks (for file access) and by when it must be done
/// (for admission to the queues).
public struct CallContext: Sendable {
  public var caller: Caller?
  public var deadline: ContinuousClock.Instant?

  public init(caller: Caller? = nil, deadline: ContinuousClock.Instant? = nil) {
    self.caller = caller
    self.deadline = deadline
  }
}
