// Elementwise kernels written in C so they can be compiled for several instruction sets at once (clang's
// target_clones: AVX-512, AVX2+FMA, baseline) and picked at load time for the machine they run on. Swift code
// here is built for baseline x86-64, where vectors are 4 floats wide.
#pragma once
#include <stddef.h>
#include <stdint.h>

/// One output pixel of a depthwise convolution over channels-last rows: out[c] = bias[c] + Σ in·w over the taps
/// ky0..<ky1, kx0..<kx1 (the ones inside the image), then min(max(·, 0), 6) when `relu6`.
/// `in` points at tap (0, 0) of this pixel (it may lie outside the image: only taps in range are read);
/// `row_stride` is the distance in floats between two input rows; `w` is [kernel·kernel, channels].
void chorus_depthwise_pixel(float *out, const float *bias, const float *in, ptrdiff_t row_stride, const float *w, int kernel,
                            int ky0, int ky1, int kx0, int kx1, int channels, int relu6);

/// Σ a[i]·b[i]: the HNSW graph's distance (1 − dot) on unit vectors.
float chorus_dot(const float *a, const float *b, size_t count);

/// min(max(x, 0), 6) over `count` floats, in place.
void chorus_relu6(float *x, size_t count);

/// One row of Pillow's horizontal resampling pass on interleaved 8-bit RGB: for each output pixel x and channel,
/// clip8((2²¹ + Σᵢ in[starts[x] + i]·weights[x·ksize + i]) >> 22) over i < counts[x]. `scratch` holds 3·in_width
/// bytes (the row split into planes, so each sum is a contiguous dot product).
void chorus_resample_row(const uint8_t *in, int in_width, uint8_t *out, int out_width, const int32_t *starts, const int32_t *counts,
                         const int32_t *weights, int ksize, uint8_t *scratch);

/// Pillow's vertical pass for one output row: out[i] = clip8((2²¹ + Σₜ rows[t][i]·weights[t]) >> 22) over t < taps,
/// where rows[t] = in + t·row_length.
void chorus_resample_column(const uint8_t *in, size_t row_length, int taps, const int32_t *weights, uint8_t *out, int32_t *sums);

/// e^x for float, branch-free so loops over it vectorise: x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split in two for
/// precision), e^r by its Taylor series to r⁷ (error below 2e-7 relative there), 2ⁿ built in the exponent bits.
/// Inputs are clamped to where float e^x is finite and normal.
static inline float chorus_exp(float value) {
  float x = value < -87.3f ? -87.3f : value > 88.7f ? 88.7f : value;
  // Round x/ln2 to the nearest integer with the 1.5·2²³ trick (vectorises where roundf would not).
  const float shifter = 12582912.0f;
  float shifted = x * 1.44269504088896341f + shifter;
  float n = shifted - shifter;
  float r = (x - n * 0.693145751953125f) - n * 1.42860682030941723e-6f;
  float p = 1.0f / 5040;
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1;
  p = p * r + 1;
  // n sits in the low mantissa bits of `shifted`: integer arithmetic on the bit patterns gives 2ⁿ.
  union { float f; int32_t i; } bits = {shifted}, shift = {shifter}, scale;
  scale.i = (int32_t)((uint32_t)(bits.i - shift.i + 127) << 23);
  return p * scale.f;
}

/// erf(x) as a rational function x·P(x²)/Q(x²) on [-4, 4] (erf is ±1 to float precision beyond): the minimax fit
/// XLA and Eigen use for float. Branch-free; its error against glibc's erff is a few 1e-7.
static inline float chorus_erf(float value) {
  float x = value < -4 ? -4 : value > 4 ? 4 : value;
  float x2 = x * x;
  float p = -2.72614225801306e-10f;
  p = p * x2 + 2.77068142495902e-08f;
  p = p * x2 + -2.10102402082508e-06f;
  p = p * x2 + -5.69250639462346e-05f;
  p = p * x2 + -7.34990630326855e-04f;
  p = p * x2 + -2.95459980854025e-03f;
  p = p * x2 + -1.60960333262415e-02f;
  float q = -1.45660718464996e-05f;
  q = q * x2 + -2.13374055278905e-04f;
  q = q * x2 + -1.68282697438203e-03f;
  q = q * x2 + -7.37332916720468e-03f;
  q = q * x2 + -1.42647390514189e-02f;
  return x * p / q;
}

/// Activations in place over `count` floats: GELU with erf, GELU's tanh form, x·σ(1.702x), max(x, 0).
void chorus_gelu(float *x, size_t count);
void chorus_gelu_tanh(float *x, size_t count);
void chorus_quick_gelu(float *x, size_t count);
void chorus_relu(float *x, size_t count);
void chorus_silu(float *x, size_t count);
/// x / sqrt(mean(x²) + eps) · γ per row (RMSNorm: Qwen, Llama, Gemma).
void chorus_rms_norm(const float *x, float *out, size_t rows, size_t width, const float *weight, float epsilon);

/// Layer norm of `rows` rows of `width` floats, `out` may be `x`: (x − mean) / sqrt(var + eps) · γ + β with the
/// sums in double, as `nn.LayerNorm` (biased variance).
void chorus_layer_norm(const float *x, float *out, size_t rows, size_t width, const float *weight, const float *bias, float epsilon);

/// In-place softmax of one row (max subtracted, as PyTorch).
void chorus_softmax(float *row, size_t count);

/// One query row of attention over `visible` keys and values (rows `row_stride` apart): softmax(q·Kᵀ·scale + bias)·V
/// into out[head_dim]; `scores` holds `visible` floats of scratch; `bias` may be NULL.
void chorus_attention_row(const float *query, const float *keys, const float *values, size_t row_stride, size_t visible, size_t head_dim,
                          float scale, const float *bias, float *scores, float *out);
