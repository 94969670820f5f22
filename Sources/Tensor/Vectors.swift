/// v / max(‖v‖₂, 1e-12), as `torch.nn.functional.normalize` (the sum of squares in Double).
public func l2Normalized(_ vector: [Float]) -> [Float] {
  var squares: Double = 0
  for value in vector { squares += Double(value) * Double(value) }
  let norm = Float(max(squares.squareRoot(), 1e-12))
  return vector.map { $0 / norm }
}
