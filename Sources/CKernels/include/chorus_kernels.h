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
