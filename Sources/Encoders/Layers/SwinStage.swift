import Tensor

/// How a square grid of tokens is cut into attention windows (Swin): which grid position each windowed row comes
/// from, with the cyclic shift folded in, and the windows grouped by the mask they need so that every group is
/// one contiguous run of rows. Unshifted windows need no mask (one group); shifted ones differ along the last
/// window row and column, where the roll brought far-apart tokens together (up to four groups).
struct WindowPlan {
  let side: Int
  /// Tokens per window side.
  let window: Int
  let shift: Int
  /// Windowed row → grid position (row-major), one item's worth, group after group.
  let gridPosition: [Int]
  /// Each group: how many windows, and whether they are in the last window row / column (for the mask).
  let groups: [(windows: Int, lastRow: Bool, lastColumn: Bool)]

  /// transformers' ClapAudioLayer: a grid no larger than the window is one unshifted window.
  init(side: Int, window configured: Int, shifted: Bool) {
    self.side = side
    window = min(configured, side)
    shift = shifted && side > configured ? configured / 2 : 0
    let perSide = side / window
    var positions: [Int] = []
    var groups: [(Int, Bool, Bool)] = []
    let kinds: [(Bool, Bool)] = shift == 0 ? [(false, false)] : [(false, false), (false, true), (true, false), (true, true)]
    for (lastRow, lastColumn) in kinds {
      var count = 0
      for wy in 0..<perSide {
        for wx in 0..<perSide {
          if shift > 0 && ((wy == perSide - 1) != lastRow || (wx == perSide - 1) != lastColumn) { continue }
          count += 1
          for i in 0..<window {
            for j in 0..<window {
              // torch.roll(x, -shift): the shifted grid's (y, x) holds the original (y + shift, x + shift).
              positions.append(((wy * window + i + shift) % side) * side + (wx * window + j + shift) % side)
            }
          }
        }
      }
      groups.append((count, lastRow, lastColumn))
    }
    gridPosition = positions
    self.groups = groups
  }

  /// Per group, [heads, w², w²]: the relative position bias of `table` ([(2w−1)², heads]) plus −100 between
  /// tokens of different shift regions, as the reference's attention mask.
  func biases(table: Tensor, heads: Int) -> [Tensor] {
    let area = window * window, span = 2 * window - 1
    return groups.map { group in
      let bias = Tensor(zeros: [heads, area, area])
      func region(_ index: Int) -> Int {
        let (i, j) = (index / window, index % window)
        let row = group.lastRow ? (i < window - shift ? 1 : 2) : 0
        let column = group.lastColumn ? (j < window - shift ? 1 : 2) : 0
        return row * 3 + column
      }
      for p in 0..<area {
        for q in 0..<area {
          let index = (p / window - q / window + window - 1) * span + (p % window - q % window + window - 1)
          let mask: Float = region(p) == region(q) ? 0 : -100
          for h in 0..<heads { bias.data[(h * area + p) * area + q] = table.data[index * heads + h] + mask }
        }
      }
      return bias
    }
  }
}

/// One Swin block (transformers' ClapAudioLayer / SwinLayer): x += Wo·WindowAttention(LN(x)); x += MLP(LN(x)).
struct SwinBlock {
  let plan: WindowPlan
  let heads: Int
  let norm1: NormWeights
  let qkv: LinearWeights
  let output: LinearWeights
  let norm2: NormWeights
  let up: LinearWeights
  let down: LinearWeights
  /// One per window group of the plan.
  let biases: [Tensor]

  init(_ w: Weights, width: Int, heads: Int, mlpRatio: Double, epsilon: Float, plan: WindowPlan) throws {
    self.plan = plan
    self.heads = heads
    norm1 = try NormWeights(w, "layernorm_before", width: width, epsilon: epsilon)
    // Row counts repeat (one per batch size): the projections are packed once for oneDNN.
    qkv = LinearWeights.fused([
      try LinearWeights(w, "attention.self.query", in: width, out: width),
      try LinearWeights(w, "attention.self.key", in: width, out: width),
      try LinearWeights(w, "attention.self.value", in: width, out: width),
    ]).packedForFixedShapes()
    output = try LinearWeights(w, "attention.output.dense", in: width, out: width).packedForFixedShapes()
    norm2 = try NormWeights(w, "layernorm_after", width: width, epsilon: epsilon)
    let hidden = Int(Double(width) * mlpRatio)
    up = try LinearWeights(w, "intermediate.dense", in: width, out: hidden).packedForFixedShapes()
    down = try LinearWeights(w, "output.dense", in: hidden, out: width).packedForFixedShapes()
    let configured = 2 * plan.window - 1
    let table = try w("attention.self.relative_position_bias_table", [configured * configured, heads])
    biases = plan.biases(table: table, heads: heads)
  }

  /// `hidden` is [batch · side², width], each item's grid row-major; updated in place.
  func forward(_ hidden: Tensor, batch: Int, activation: Activation, workspace: Workspace) {
    let width = hidden.shape[1], area = plan.side * plan.side, rows = batch * area
    let normed = workspace.tensor(0, [rows, width])
    norm1.apply(hidden, into: normed)
    // Windowed order, group after group, each group's windows for every item: each group is contiguous.
    let windowed = workspace.tensor(1, [rows, width])
    var source = [Int](repeating: 0, count: rows)
    var row = 0, groupStart = 0
    var groupRows: [Range<Int>] = []
    for group in plan.groups {
      let count = group.windows * plan.window * plan.window
      let first = row
      for b in 0..<batch {
        for i in 0..<count {
          source[row] = b * area + plan.gridPosition[groupStart + i]
          row += 1
        }
      }
      groupStart += count
      groupRows.append(first..<row)
    }
    for (r, s) in source.enumerated() { (windowed.data + r * width).update(from: normed.data + s * width, count: width) }
    let qkvRows = workspace.tensor(2, [rows, 3 * width])
    qkv.apply(windowed, into: qkvRows)
    let context = workspace.tensor(3, [rows, width])
    let windowArea = plan.window * plan.window
    for (group, range) in zip(biases, groupRows) where !range.isEmpty {
      let q = UnsafePointer(qkvRows.data + range.lowerBound * 3 * width)
      attention(
        q: q, k: q + width, v: q + 2 * width, rowStride: 3 * width, into: context.slice(range),
        layout: TokenLayout(packed: Array(repeating: windowArea, count: range.count / windowArea)), heads: heads, causal: false,
        bias: UnsafePointer(group.data))
    }
    let projected = workspace.tensor(1, [rows, width])
    output.apply(context, into: projected)
    for (r, s) in source.enumerated() {
      let out = hidden.data + s * width, add = projected.data + r * width
      for i in 0..<width { out[i] += add[i] }
    }
    norm2.apply(hidden, into: normed)
    let intermediate = workspace.tensor(4, [rows, up.outFeatures])
    up.apply(normed, into: intermediate)
    activation.apply(intermediate)
    down.accumulate(intermediate, into: hidden)
  }
}

/// Swin's patch merging: each 2×2 block of tokens concatenated (x[2r,2c], x[2r+1,2c], x[2r,2c+1], x[2r+1,2c+1]),
/// layer-normed and reduced from 4·width to 2·width: half the side, twice the width.
struct PatchMerging {
  let norm: NormWeights
  let reduction: Tensor  // [2·width, 4·width], no bias

  init(_ w: Weights, width: Int, epsilon: Float) throws {
    norm = try NormWeights(w, "norm", width: 4 * width, epsilon: epsilon)
    reduction = try w("reduction.weight", [2 * width, 4 * width])
  }

  func forward(_ hidden: Tensor, batch: Int, side: Int) -> Tensor {
    let width = hidden.shape[1], half = side / 2
    let gathered = Tensor(zeros: [batch * half * half, 4 * width])
    for b in 0..<batch {
      for r in 0..<half {
        for c in 0..<half {
          let out = gathered.data + ((b * half + r) * half + c) * 4 * width
          for (k, (dy, dx)) in [(0, 0), (1, 0), (0, 1), (1, 1)].enumerated() {
            (out + k * width).update(from: hidden.data + (b * side * side + (2 * r + dy) * side + 2 * c + dx) * width, count: width)
          }
        }
      }
    }
    norm.apply(gathered)
    return linear(gathered, weight: reduction, bias: nil)
  }
}
