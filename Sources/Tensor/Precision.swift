import CMatmul

/// The number format a model's linear layers compute in (`--precision NAME=…`). fp32 is exact against the
/// reference; int8 and bf16 trade fidelity for speed (Models/README.md has the measured cost per architecture).
public enum Precision: String, Sendable, CaseIterable, CustomStringConvertible {
  case fp32, bf16, int8

  public var description: String { rawValue }

  var oneDNN: chorus_matmul_precision {
    switch self {
    case .fp32: CHORUS_MATMUL_FP32
    case .bf16: CHORUS_MATMUL_BF16
    case .int8: CHORUS_MATMUL_INT8
    }
  }

  /// Why this CPU cannot serve the precision, or nil when it can. bf16 is offered only where the CPU computes it
  /// (AVX512_BF16 or AMX); oneDNN would otherwise emulate it, slower than fp32.
  public var unsupportedReason: String? {
    guard chorus_matmul_native(oneDNN) == 0 else { return nil }
    switch self {
    case .bf16: return "this CPU has no native bf16 arithmetic (AVX512_BF16 or AMX); use int8 or fp32"
    case .int8: return "int8 needs at least AVX2 on x86-64"
    case .fp32: return nil
    }
  }

  /// How int8 weights are kept on this CPU: 8 bits with VNNI's dot products, 7 without (vpmaddubsw would saturate).
  public static var int8WeightBits: Int { chorus_matmul_has_vnni() != 0 ? 8 : 7 }
}
