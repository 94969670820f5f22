/// v / max(‖v‖₂, 1e-12), as `torch.nn.functional.normalize` (the sum of squares in Double).
public func l2Normalized(_ vector: [Float]) -> [Float] {
  var squares: Double = 0
  for value in vector { squares += Double(value) * Double(value) }
  let norm = Float(max(squares.squareRoot(), 1e-12))
  return vector.map { $0 / norm }
}

/// Cosine of the angle between two vectors, summed in Double (parity checks against reference implementations).
public func cosineSimilarity(_ a: [Float], _ b: [Float]) -> Float {
  var dot: Double = 0, na: Double = 0, nb: Double = 0
  for (x, y) in zip(a, b) {
    dot += Double(x) * Double(y)
    na += Double(x) * Double(x)
    nb += Double(y) * Double(y)
  }
  return Float(dot / (na.squareRoot() * nb.squareRoot()))
}

/// Largest element-wise difference (parity checks).
public func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
  zip(a, b).map { abs($0 - $1) }.max() ?? 0
}
