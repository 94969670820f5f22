// Linear layers through oneDNN (Debian libdnnl-dev): weights reordered once into the layout the CPU's kernel
// prefers, in fp32 or bf16, then y = x · Wᵀ for any number of rows. A small C API because oneDNN's C structs
// (fixed-size dimension arrays, handles) are clumsy from Swift.
#ifndef CHORUS_CMATMUL_H
#define CHORUS_CMATMUL_H

#include <stddef.h>
#include <stdint.h>

typedef enum { CHORUS_MATMUL_FP32 = 0, CHORUS_MATMUL_BF16 = 1 } chorus_matmul_precision;

typedef struct chorus_matmul chorus_matmul;

// Packs `weights`, row-major [n][k] (a PyTorch Linear's out × in), for `precision`. NULL on failure, with the
// reason in `error`.
chorus_matmul *chorus_matmul_create(const float *weights, int64_t n, int64_t k, chorus_matmul_precision precision, char *error,
                                    size_t error_size);

// y[rows][n] = x[rows][k] · Wᵀ, in fp32 (bf16 inputs are rounded from x). 0 on success; otherwise the reason is in
// `error`. Safe to call from several threads at once.
int chorus_matmul_run(chorus_matmul *matmul, const float *x, int64_t rows, float *y, char *error, size_t error_size);

// y[rows][n] = x · Wᵀ (+ bias; NULL for none), fp32, on the calling thread alone: the caller splits the work across
// cores (oneDNN's own OpenMP threads would spin between calls and take the cores from everything else). Primitives
// are cached per row count. 0 on success; otherwise the reason is in `error`.
int chorus_matmul_run_serial(chorus_matmul *matmul, const float *x, int64_t rows, float *y, const float *bias, char *error, size_t error_size);

// The oneDNN kernel that serves `rows` (e.g. "brg:avx512_core_bf16"); NULL if none does.
const char *chorus_matmul_kernel(chorus_matmul *matmul, int64_t rows);

void chorus_matmul_destroy(chorus_matmul *matmul);

#endif
