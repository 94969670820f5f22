// Linear layers through oneDNN (Debian libdnnl-dev): weights reordered once into the layout the CPU's kernel
// prefers, in fp32, bf16 or int8, then y = x · Wᵀ for any number of rows. A small C API because oneDNN's C structs
// (fixed-size dimension arrays, handles) are clumsy from Swift.
#ifndef CHORUS_CMATMUL_H
#define CHORUS_CMATMUL_H

#include <stddef.h>
#include <stdint.h>

// INT8 is dynamic quantization as ONNX Runtime's quantize_dynamic does it, with finer activation scales: weights
// symmetric int8 per output channel, each input row quantized to uint8 (its own scale and zero point) at run time,
// int32 accumulation, then y = row scale · column scale · (acc − zero point · Σ column weights) + bias.
typedef enum { CHORUS_MATMUL_FP32 = 0, CHORUS_MATMUL_BF16 = 1, CHORUS_MATMUL_INT8 = 2 } chorus_matmul_precision;

typedef struct chorus_matmul chorus_matmul;

// Packs `weights`, row-major [n][k] (a PyTorch Linear's out × in), for `precision`. NULL on failure, with the
// reason in `error`.
chorus_matmul *chorus_matmul_create(const float *weights, int64_t n, int64_t k, chorus_matmul_precision precision, char *error,
                                    size_t error_size);

// y[rows][n] = x[rows][k] · Wᵀ, in fp32 (bf16 inputs are rounded from x). 0 on success; otherwise the reason is in
// `error`. Safe to call from several threads at once.
int chorus_matmul_run(chorus_matmul *matmul, const float *x, int64_t rows, float *y, char *error, size_t error_size);

// y[r * ldy + c] = (x · Wᵀ + bias)[r][c] for c < n — or += when `accumulate` — in any precision, on the calling
// thread alone: the caller splits the work across cores (oneDNN's own OpenMP threads would spin between calls and
// take the cores from everything else). Primitives are cached per row count and output layout. fp32/bf16 products
// with dense rows (ldy == n) go straight into y, the residual added by oneDNN's store (sum post-op); int8's int32
// products, bf16's padded rows (bf16 and int8 pad the row count to a multiple of 8, so the cache serves text's
// changing batch sizes) and strided outputs go through a per-thread buffer. Safe to call from several threads at
// once, on one matrix (each thread brings its own scratch space). 0 on success.
int chorus_matmul_run_part(chorus_matmul *matmul, const float *x, int64_t rows, float *y, int64_t ldy, const float *bias, int accumulate, char *error,
                           size_t error_size);

// Whether this CPU computes in `precision` natively: bf16 needs AVX512_BF16 (or AMX); int8 runs everywhere, but
// without VNNI (AVX-512 VNNI or AVX-VNNI) its weights keep 7 bits, because vpmaddubsw's 16-bit pair sums would
// saturate on 8 (the same reason ONNX Runtime offers reduce_range).
int chorus_matmul_native(chorus_matmul_precision precision);
// Whether int8 runs on VNNI dot products here (8-bit weights) or not (7-bit).
int chorus_matmul_has_vnni(void);

// The oneDNN kernel that serves `rows` (e.g. "brg:avx512_core_bf16"); NULL if none does.
const char *chorus_matmul_kernel(chorus_matmul *matmul, int64_t rows);

void chorus_matmul_destroy(chorus_matmul *matmul);

#endif
