#include "synthetic_weights.h"

void chorus_synthetic_fill(float *out, uint64_t count, uint64_t base, double center, double scale) {
  for (uint64_t i = 0; i < count; i++) {
    uint64_t z = base + i + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    double u = (double)(z >> 11) * 0x1.0p-53;
    double two_u = 2.0 * u;
    double centered = two_u - 1.0;
    double scaled = scale * centered;  // kept apart: no fused multiply-add, as numpy does it
    out[i] = (float)(center + scaled);
  }
}
