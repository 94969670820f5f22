#pragma once
#include <stdint.h>

/// Fills out[0..<count] with the deterministic "random" weights of Tests/EncodersTests/Fixtures/synthetic_weights.py:
/// out[i] = (float)(center + scale * (2u - 1)), u = splitmix64(base + i) >> 11 scaled to [0, 1). Bit for bit what
/// numpy computes, so full-size checkpoints need not be committed: the tests write them from a manifest.
void chorus_synthetic_fill(float *out, uint64_t count, uint64_t base, double center, double scale);
