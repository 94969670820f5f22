#include "chorus_kernels.h"

#define CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

CLONES void chorus_depthwise_pixel(float *restrict out, const float *restrict bias, const float *restrict in, ptrdiff_t row_stride,
                                   const float *restrict w, int kernel, int ky0, int ky1, int kx0, int kx1, int channels, int relu6) {
  for (int c = 0; c < channels; c++) out[c] = bias[c];
  for (int ky = ky0; ky < ky1; ky++) {
    for (int kx = kx0; kx < kx1; kx++) {
      const float *restrict src = in + ky * row_stride + (ptrdiff_t)kx * channels;
      const float *restrict tap = w + (ptrdiff_t)(ky * kernel + kx) * channels;
      for (int c = 0; c < channels; c++) out[c] += src[c] * tap[c];
    }
  }
  if (relu6) {
    for (int c = 0; c < channels; c++) {
      float v = out[c] < 0 ? 0 : out[c];
      out[c] = v > 6 ? 6 : v;
    }
  }
}

CLONES void chorus_relu6(float *restrict x, size_t count) {
  for (size_t i = 0; i < count; i++) {
    float v = x[i] < 0 ? 0 : x[i];
    x[i] = v > 6 ? 6 : v;
  }
}
