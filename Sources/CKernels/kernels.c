#include "chorus_kernels.h"

#include <math.h>

#define CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

// 8-float vectors (GCC/Clang vector extensions): each clone compiles them to its own registers (AVX-512/AVX2 ymm,
// two SSE registers on baseline x86-64). Unaligned: rows of activations start anywhere.
typedef float chorus_v8 __attribute__((vector_size(32), aligned(4)));

// One output pixel of a depthwise convolution, channels-last. Channels go in blocks of 32 with the sums held in
// registers across the taps (summing into `out` in memory reloaded every channel on every tap), then 8, then one.
CLONES void chorus_depthwise_pixel(float *restrict out, const float *restrict bias, const float *restrict in, ptrdiff_t row_stride,
                                   const float *restrict w, int kernel, int ky0, int ky1, int kx0, int kx1, int channels, int relu6) {
  const chorus_v8 zero = {0}, six = zero + 6;
  int c = 0;
  for (; c + 32 <= channels; c += 32) {
    chorus_v8 a0 = *(const chorus_v8 *)(bias + c), a1 = *(const chorus_v8 *)(bias + c + 8), a2 = *(const chorus_v8 *)(bias + c + 16),
              a3 = *(const chorus_v8 *)(bias + c + 24);
    for (int ky = ky0; ky < ky1; ky++) {
      for (int kx = kx0; kx < kx1; kx++) {
        const float *src = in + ky * row_stride + (ptrdiff_t)kx * channels + c;
        const float *tap = w + (ptrdiff_t)(ky * kernel + kx) * channels + c;
        a0 += *(const chorus_v8 *)src * *(const chorus_v8 *)tap;
        a1 += *(const chorus_v8 *)(src + 8) * *(const chorus_v8 *)(tap + 8);
        a2 += *(const chorus_v8 *)(src + 16) * *(const chorus_v8 *)(tap + 16);
        a3 += *(const chorus_v8 *)(src + 24) * *(const chorus_v8 *)(tap + 24);
      }
    }
    if (relu6) {
      a0 = __builtin_elementwise_min(__builtin_elementwise_max(a0, zero), six);
      a1 = __builtin_elementwise_min(__builtin_elementwise_max(a1, zero), six);
      a2 = __builtin_elementwise_min(__builtin_elementwise_max(a2, zero), six);
      a3 = __builtin_elementwise_min(__builtin_elementwise_max(a3, zero), six);
    }
    *(chorus_v8 *)(out + c) = a0;
    *(chorus_v8 *)(out + c + 8) = a1;
    *(chorus_v8 *)(out + c + 16) = a2;
    *(chorus_v8 *)(out + c + 24) = a3;
  }
  for (; c + 8 <= channels; c += 8) {
    chorus_v8 a = *(const chorus_v8 *)(bias + c);
    for (int ky = ky0; ky < ky1; ky++)
      for (int kx = kx0; kx < kx1; kx++)
        a += *(const chorus_v8 *)(in + ky * row_stride + (ptrdiff_t)kx * channels + c) * *(const chorus_v8 *)(w + (ptrdiff_t)(ky * kernel + kx) * channels + c);
    if (relu6) a = __builtin_elementwise_min(__builtin_elementwise_max(a, zero), six);
    *(chorus_v8 *)(out + c) = a;
  }
  for (; c < channels; c++) {
    float a = bias[c];
    for (int ky = ky0; ky < ky1; ky++)
      for (int kx = kx0; kx < kx1; kx++) a += in[ky * row_stride + (ptrdiff_t)kx * channels + c] * w[(ptrdiff_t)(ky * kernel + kx) * channels + c];
    if (relu6) a = a < 0 ? 0 : a > 6 ? 6 : a;
    out[c] = a;
  }
}

CLONES float chorus_dot(const float *restrict a, const float *restrict b, size_t count) {
  // Sixteen partial sums so the loop vectorises without -ffast-math (float addition is not associative).
  float partial[16] = {0};
  size_t i = 0;
  for (; i + 16 <= count; i += 16)
    for (int j = 0; j < 16; j++) partial[j] += a[i + j] * b[i + j];
  float sum = 0;
  for (int j = 0; j < 16; j++) sum += partial[j];
  for (; i < count; i++) sum += a[i] * b[i];
  return sum;
}

CLONES void chorus_relu6(float *restrict x, size_t count) {
  for (size_t i = 0; i < count; i++) {
    float v = x[i] < 0 ? 0 : x[i];
    x[i] = v > 6 ? 6 : v;
  }
}

static inline uint8_t clip8(int32_t value) {
  int32_t shifted = value >> 22;
  return shifted < 0 ? 0 : shifted > 255 ? 255 : (uint8_t)shifted;
}

CLONES void chorus_resample_row(const uint8_t *restrict in, int in_width, uint8_t *restrict out, int out_width, const int32_t *restrict starts,
                                const int32_t *restrict counts, const int32_t *restrict weights, int ksize, uint8_t *restrict scratch) {
  for (int x = 0; x < in_width; x++) {
    scratch[x] = in[3 * x];
    scratch[in_width + x] = in[3 * x + 1];
    scratch[2 * in_width + x] = in[3 * x + 2];
  }
  for (int channel = 0; channel < 3; channel++) {
    const uint8_t *restrict plane = scratch + channel * in_width;
    for (int x = 0; x < out_width; x++) {
      const uint8_t *restrict source = plane + starts[x];
      const int32_t *restrict k = weights + (ptrdiff_t)x * ksize;
      int32_t sum = 1 << 21;
      for (int i = 0; i < counts[x]; i++) sum += source[i] * k[i];
      out[3 * x + channel] = clip8(sum);
    }
  }
}

CLONES void chorus_resample_column(const uint8_t *restrict in, size_t row_length, int taps, const int32_t *restrict weights, uint8_t *restrict out,
                                   int32_t *restrict sums) {
  for (size_t i = 0; i < row_length; i++) sums[i] = 1 << 21;
  for (int t = 0; t < taps; t++) {
    const uint8_t *restrict row = in + (size_t)t * row_length;
    int32_t w = weights[t];
    for (size_t i = 0; i < row_length; i++) sums[i] += row[i] * w;
  }
  for (size_t i = 0; i < row_length; i++) out[i] = clip8(sums[i]);
}

CLONES void chorus_gelu(float *restrict x, size_t count) {
  for (size_t i = 0; i < count; i++) x[i] = 0.5f * x[i] * (1 + chorus_erf(x[i] * 0.70710678118654752f));
}

// GELU's tanh form, 0.5·v·(1 + tanh(u)) with u = √(2/π)·(v + 0.044715·v³), written as v·σ(2u) (the same
// function: (1 + tanh u)/2 = σ(2u)) so it needs one vectorisable exp instead of libm's scalar tanhf, which took a
// quarter of SigLIP's vision tower.
CLONES void chorus_gelu_tanh(float *restrict x, size_t count) {
  for (size_t i = 0; i < count; i++) {
    float v = x[i];
    float u = 0.79788456080286536f * (v + 0.044715f * v * v * v);
    x[i] = v / (1 + chorus_exp(-2 * u));
  }
}

CLONES void chorus_quick_gelu(float *restrict x, size_t count) {
  for (size_t i = 0; i < count; i++) x[i] = x[i] / (1 + chorus_exp(-1.702f * x[i]));
}

CLONES void chorus_relu(float *restrict x, size_t count) {
  for (size_t i = 0; i < count; i++) x[i] = x[i] > 0 ? x[i] : 0;
}

// Sums in double over 8 lanes: the lanes vectorise (one running double sum was a chain of dependent adds, 7 % of
// MiniLM's int8 time); in double, the order changes nothing a float result can see. Inline, so each clone of the
// callers gets its own vector width.
static inline __attribute__((always_inline)) double sum_of(const float *row, size_t count) {
  double lanes[8] = {0}, total = 0;
  size_t i = 0;
  for (; i + 8 <= count; i += 8)
    for (int l = 0; l < 8; l++) lanes[l] += row[i + l];
  for (int l = 0; l < 8; l++) total += lanes[l];
  for (; i < count; i++) total += row[i];
  return total;
}

// Σ (x − centre)², the difference squared in float as before, summed in double.
static inline __attribute__((always_inline)) double squares_about(const float *row, size_t count, float centre) {
  double lanes[8] = {0}, total = 0;
  size_t i = 0;
  for (; i + 8 <= count; i += 8)
    for (int l = 0; l < 8; l++) {
      float d = row[i + l] - centre;
      lanes[l] += (double)(d * d);
    }
  for (int l = 0; l < 8; l++) total += lanes[l];
  for (; i < count; i++) {
    float d = row[i] - centre;
    total += (double)(d * d);
  }
  return total;
}

CLONES void chorus_layer_norm(const float *x, float *out, size_t rows, size_t width, const float *restrict weight, const float *restrict bias,
                              float epsilon) {
  for (size_t r = 0; r < rows; r++) {
    const float *row = x + r * width;
    float *target = out + r * width;
    float mean = (float)(sum_of(row, width) / width);
    float inverse = 1 / sqrtf((float)(squares_about(row, width, mean) / width) + epsilon);
    for (size_t i = 0; i < width; i++) target[i] = (row[i] - mean) * inverse * weight[i] + bias[i];
  }
}

CLONES void chorus_rms_norm(const float *x, float *out, size_t rows, size_t width, const float *restrict weight, float epsilon) {
  for (size_t r = 0; r < rows; r++) {
    const float *row = x + r * width;
    float *target = out + r * width;
    float inverse = 1 / sqrtf((float)(squares_about(row, width, 0) / width) + epsilon);
    for (size_t i = 0; i < width; i++) target[i] = weight[i] * (row[i] * inverse);
  }
}

CLONES void chorus_silu(float *restrict x, size_t count) {
  for (size_t i = 0; i < count; i++) x[i] = x[i] / (1 + chorus_exp(-x[i]));
}

// Max and sum over 16 lanes, the exponentials in their own loop: each pass vectorizes (a single running sum
// would not, without reassociation). Short rows (Swin's 64-token windows) spend most of their time here.
CLONES void chorus_softmax(float *restrict row, size_t count) {
  float lanes[16];
  for (int k = 0; k < 16; k++) lanes[k] = -INFINITY;
  size_t i = 0;
  for (; i + 16 <= count; i += 16)
    for (int k = 0; k < 16; k++) lanes[k] = row[i + k] > lanes[k] ? row[i + k] : lanes[k];
  float maximum = -INFINITY;
  for (int k = 0; k < 16; k++) maximum = lanes[k] > maximum ? lanes[k] : maximum;
  for (; i < count; i++) maximum = row[i] > maximum ? row[i] : maximum;
  for (i = 0; i < count; i++) row[i] = chorus_exp(row[i] - maximum);
  for (int k = 0; k < 16; k++) lanes[k] = 0;
  for (i = 0; i + 16 <= count; i += 16)
    for (int k = 0; k < 16; k++) lanes[k] += row[i + k];
  float sum = 0;
  for (int k = 0; k < 16; k++) sum += lanes[k];
  for (; i < count; i++) sum += row[i];
  float inverse = 1 / sum;
  for (i = 0; i < count; i++) row[i] *= inverse;
}

// One query row of a short attention: scores against `visible` keys, scaled, plus an optional bias row, softmax, then
// the weighted sum of the values. Keys and values are rows `row_stride` floats apart (q, k and v interleaved in one
// projection's output). Head widths that are multiples of 8 up to 128 (every model here) use 8-float vectors with
// the output held in registers (accumulating it in memory stalled on store forwarding); others take plain loops.


CLONES void chorus_attention_row(const float *restrict query, const float *restrict keys, const float *restrict values, size_t row_stride,
                                 size_t visible, size_t head_dim, float scale, const float *restrict bias, float *restrict scores,
                                 float *restrict out) {
  if (head_dim % 8 == 0 && head_dim <= 128) {
    const size_t blocks = head_dim / 8;
    for (size_t j = 0; j < visible; j++) {
      const float *key = keys + j * row_stride;
      chorus_v8 lanes = {0};
      for (size_t b = 0; b < blocks; b++) lanes += *(const chorus_v8 *)(query + 8 * b) * *(const chorus_v8 *)(key + 8 * b);
      // Halves folded by shuffles, here rather than in a helper (a vector argument would change the baseline clone's ABI).
      lanes += __builtin_shufflevector(lanes, lanes, 4, 5, 6, 7, 0, 1, 2, 3);
      lanes += __builtin_shufflevector(lanes, lanes, 2, 3, 0, 1, 6, 7, 4, 5);
      scores[j] = (lanes[0] + lanes[1]) * scale + (bias ? bias[j] : 0.0f);
    }
    chorus_softmax(scores, visible);
    chorus_v8 sum[16];
    for (size_t b = 0; b < blocks; b++) sum[b] = (chorus_v8){0};
    for (size_t j = 0; j < visible; j++) {
      const float *value = values + j * row_stride;
      const chorus_v8 weight = (chorus_v8){0} + scores[j];
      for (size_t b = 0; b < blocks; b++) sum[b] += weight * *(const chorus_v8 *)(value + 8 * b);
    }
    for (size_t b = 0; b < blocks; b++) *(chorus_v8 *)(out + 8 * b) = sum[b];
    return;
  }
  for (size_t j = 0; j < visible; j++) {
    const float *key = keys + j * row_stride;
    float dot = 0;
    for (size_t d = 0; d < head_dim; d++) dot += query[d] * key[d];
    scores[j] = dot * scale + (bias ? bias[j] : 0.0f);
  }
  chorus_softmax(scores, visible);
  for (size_t d = 0; d < head_dim; d++) out[d] = 0;
  for (size_t j = 0; j < visible; j++) {
    const float weight = scores[j], *value = values + j * row_stride;
    for (size_t d = 0; d < head_dim; d++) out[d] += weight * value[d];
  }
}
