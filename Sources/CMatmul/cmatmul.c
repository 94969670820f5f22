#include "cmatmul.h"

#include <oneapi/dnnl/dnnl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// One engine for the process; a stream per calling thread (oneDNN streams are not shared between threads).
static dnnl_engine_t engine;
static pthread_once_t engine_once = PTHREAD_ONCE_INIT;
static void make_engine(void) {
  if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) engine = NULL;
}
static _Thread_local dnnl_stream_t thread_stream;

enum { CACHE_SIZE = 128 };

// libgomp's: the calling thread's team size for the parallel regions it starts.
extern void omp_set_num_threads(int);
static _Thread_local int thread_serial;

struct chorus_matmul {
  int64_t n, k;
  chorus_matmul_precision precision;
  dnnl_data_type_t src_type, dst_type;  // f32/f32, bf16/f32 or u8/s32; the weights' type is the source's (s8 for u8)
  dnnl_memory_desc_t packed_md;  // the weights' layout, chosen once
  dnnl_memory_t packed;
  float *column_scale;           // int8: each output channel's weight scale
  int32_t *column_sum;           // int8: Σ of each output channel's int8 weights (the zero-point correction)
  pthread_mutex_t lock;          // guards the primitive cache
  struct {
    int64_t rows, ldy;  // ldy: the output's row stride (n when dense)
    int bias, accumulate;
    dnnl_primitive_t primitive;
    dnnl_memory_desc_t scratchpad;  // its scratch space, handed in per call (below)
    const char *kernel;
  } cache[CACHE_SIZE];
  int next_slot;
};

static void fail(char *error, size_t size, const char *what, dnnl_status_t status) {
  if (error && size) snprintf(error, size, "oneDNN: %s failed (status %d)", what, (int)status);
}

// The output's memory descriptor: `rows` rows of n values, `ldy` apart.
static dnnl_status_t output_md(const chorus_matmul *m, dnnl_memory_desc_t *md, int64_t rows, int64_t ldy) {
  dnnl_dims_t dims = {rows, m->n}, strides = {ldy, 1};
  return dnnl_memory_desc_init_by_strides(md, 2, dims, m->dst_type, strides);
}

// The matmul primitive for `rows` rows (with a bias input or not) against the packed weights, writing rows `ldy`
// apart and, with `accumulate`, adding to what is there (oneDNN's sum post-op: the residual add fused into the
// kernel's store), from the cache or made now. A primitive runs with as many threads as its caller's OpenMP setting
// gives it.
static dnnl_primitive_t primitive_for(chorus_matmul *m, int64_t rows, int bias, int64_t ldy, int accumulate, const char **kernel,
                                      dnnl_memory_desc_t *scratchpad, dnnl_status_t *status) {
  pthread_mutex_lock(&m->lock);
  for (int i = 0; i < CACHE_SIZE; i++) {
    if (m->cache[i].primitive && m->cache[i].rows == rows && m->cache[i].bias == bias && m->cache[i].ldy == ldy &&
        m->cache[i].accumulate == accumulate) {
      dnnl_primitive_t found = m->cache[i].primitive;
      if (kernel) *kernel = m->cache[i].kernel;
      if (scratchpad) *scratchpad = m->cache[i].scratchpad;
      pthread_mutex_unlock(&m->lock);
      return found;
    }
  }
  dnnl_memory_desc_t src_md, dst_md, bias_md;
  dnnl_dims_t src_dims = {rows, m->k}, bias_dims = {1, m->n};
  dnnl_primitive_t primitive = NULL;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t ops = NULL;
  dnnl_matmul_desc_t desc;
  *status = dnnl_memory_desc_init_by_tag(&src_md, 2, src_dims, m->src_type, dnnl_ab);
  if (*status == dnnl_success) *status = output_md(m, &dst_md, rows, ldy);
  if (*status == dnnl_success) *status = dnnl_memory_desc_init_by_tag(&bias_md, 2, bias_dims, dnnl_f32, dnnl_ab);
  if (*status == dnnl_success) *status = dnnl_matmul_desc_init(&desc, &src_md, &m->packed_md, bias ? &bias_md : NULL, &dst_md);
  // The caller's scratch space (user mode): in the library's mode two threads running one primitive at once would
  // share its scratch and corrupt each other's results.
  if (*status == dnnl_success) *status = dnnl_primitive_attr_create(&attr);
  if (*status == dnnl_success) *status = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
  if (*status == dnnl_success && accumulate) {
    *status = dnnl_post_ops_create(&ops);
    if (*status == dnnl_success) *status = dnnl_post_ops_append_sum(ops, 1.0f);
    if (*status == dnnl_success) *status = dnnl_primitive_attr_set_post_ops(attr, ops);
  }
  if (*status == dnnl_success) *status = dnnl_primitive_desc_create(&pd, &desc, attr, engine, NULL);
  if (*status == dnnl_success) *status = dnnl_primitive_create(&primitive, pd);
  const char *name = NULL;
  dnnl_memory_desc_t scratch = {0};
  if (*status == dnnl_success) {
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name);
    scratch = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
  }
  if (pd) dnnl_primitive_desc_destroy(pd);
  if (ops) dnnl_post_ops_destroy(ops);
  if (attr) dnnl_primitive_attr_destroy(attr);
  if (*status == dnnl_success) {
    int slot = m->next_slot;
    m->next_slot = (m->next_slot + 1) % CACHE_SIZE;
    if (m->cache[slot].primitive) dnnl_primitive_destroy(m->cache[slot].primitive);
    m->cache[slot].rows = rows;
    m->cache[slot].ldy = ldy;
    m->cache[slot].bias = bias;
    m->cache[slot].accumulate = accumulate;
    m->cache[slot].primitive = primitive;
    m->cache[slot].kernel = name;  // a static string of the library
    m->cache[slot].scratchpad = scratch;
    if (kernel) *kernel = name;
    if (scratchpad) *scratchpad = scratch;
  }
  pthread_mutex_unlock(&m->lock);
  return primitive;
}

int chorus_matmul_has_vnni(void) {
  dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();  // honours ONEDNN_MAX_CPU_ISA
  return (isa & dnnl_cpu_isa_avx512_core_vnni) == dnnl_cpu_isa_avx512_core_vnni || (isa & dnnl_cpu_isa_avx2_vnni) == dnnl_cpu_isa_avx2_vnni;
}

int chorus_matmul_native(chorus_matmul_precision precision) {
  dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
  switch (precision) {
  case CHORUS_MATMUL_BF16: return (isa & dnnl_cpu_isa_avx512_core_bf16) == dnnl_cpu_isa_avx512_core_bf16;
  case CHORUS_MATMUL_INT8: return (isa & dnnl_cpu_isa_avx2) == dnnl_cpu_isa_avx2;
  default: return 1;
  }
}

// Symmetric int8 per output channel: W[j][·] ≈ scale[j] · q[j][·], |q| ≤ 127 (63 without VNNI, see the header).
static int8_t *quantize_weights(chorus_matmul *m, const float *weights) {
  const float limit = chorus_matmul_has_vnni() ? 127.0f : 63.0f;
  int8_t *q = malloc((size_t)(m->n * m->k));
  m->column_scale = malloc((size_t)m->n * sizeof(float));
  m->column_sum = malloc((size_t)m->n * sizeof(int32_t));
  for (int64_t j = 0; j < m->n; j++) {
    const float *w = weights + j * m->k;
    float largest = 0;
    for (int64_t i = 0; i < m->k; i++) largest = fmaxf(largest, fabsf(w[i]));
    float scale = largest > 0 ? largest / limit : 1.0f, inverse = 1.0f / scale;
    int32_t sum = 0;
    for (int64_t i = 0; i < m->k; i++) {
      float v = nearbyintf(w[i] * inverse);
      int8_t value = (int8_t)(v > limit ? limit : v < -limit ? -limit : v);
      q[j * m->k + i] = value;
      sum += value;
    }
    m->column_scale[j] = scale;
    m->column_sum[j] = sum;
  }
  return q;
}

chorus_matmul *chorus_matmul_create(const float *weights, int64_t n, int64_t k, chorus_matmul_precision precision, char *error,
                                    size_t error_size) {
  pthread_once(&engine_once, make_engine);
  if (!engine) {
    fail(error, error_size, "engine creation", dnnl_runtime_error);
    return NULL;
  }
  chorus_matmul *m = calloc(1, sizeof *m);
  m->n = n;
  m->k = k;
  m->precision = precision;
  m->src_type = precision == CHORUS_MATMUL_BF16 ? dnnl_bf16 : precision == CHORUS_MATMUL_INT8 ? dnnl_u8 : dnnl_f32;
  m->dst_type = precision == CHORUS_MATMUL_INT8 ? dnnl_s32 : dnnl_f32;
  dnnl_data_type_t weight_type = precision == CHORUS_MATMUL_INT8 ? dnnl_s8 : m->src_type;
  pthread_mutex_init(&m->lock, NULL);

  // The layout the kernel prefers, asked for a typical batch (128 rows); the same layout serves other row counts.
  dnnl_memory_desc_t src_md, any_md, dst_md, plain_md;
  dnnl_dims_t src_dims = {128, k}, weight_dims = {k, n}, dst_dims = {128, n};
  dnnl_matmul_desc_t desc;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_status_t status = dnnl_memory_desc_init_by_tag(&src_md, 2, src_dims, m->src_type, dnnl_ab);
  if (status == dnnl_success) status = dnnl_memory_desc_init_by_tag(&any_md, 2, weight_dims, weight_type, dnnl_format_tag_any);
  if (status == dnnl_success) status = dnnl_memory_desc_init_by_tag(&dst_md, 2, dst_dims, m->dst_type, dnnl_ab);
  if (status == dnnl_success) status = dnnl_matmul_desc_init(&desc, &src_md, &any_md, NULL, &dst_md);
  if (status == dnnl_success) status = dnnl_primitive_desc_create(&pd, &desc, NULL, engine, NULL);
  if (status != dnnl_success) {
    fail(error, error_size,
         precision == CHORUS_MATMUL_BF16   ? "a bf16 matmul (this CPU may not compute bf16)"
         : precision == CHORUS_MATMUL_INT8 ? "an int8 matmul"
                                           : "an fp32 matmul",
         status);
    chorus_matmul_destroy(m);
    return NULL;
  }
  m->packed_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
  dnnl_primitive_desc_destroy(pd);

  // W is [n][k] row-major: as the k × n matrix matmul wants, that is column-major ("ba"). int8 weights are
  // quantized here first; fp32 → bf16 rounding is the reorder's.
  int8_t *quantized = precision == CHORUS_MATMUL_INT8 ? quantize_weights(m, weights) : NULL;
  dnnl_memory_t plain = NULL;
  dnnl_primitive_desc_t reorder_pd = NULL;
  dnnl_primitive_t reorder = NULL;
  dnnl_stream_t stream = NULL;
  status = dnnl_memory_desc_init_by_tag(&plain_md, 2, weight_dims, quantized ? dnnl_s8 : dnnl_f32, dnnl_ba);
  if (status == dnnl_success) status = dnnl_memory_create(&plain, &plain_md, engine, quantized ? (void *)quantized : (void *)weights);
  if (status == dnnl_success) status = dnnl_memory_create(&m->packed, &m->packed_md, engine, DNNL_MEMORY_ALLOCATE);
  if (status == dnnl_success) status = dnnl_reorder_primitive_desc_create(&reorder_pd, &plain_md, engine, &m->packed_md, engine, NULL);
  if (status == dnnl_success) status = dnnl_primitive_create(&reorder, reorder_pd);
  if (status == dnnl_success) status = dnnl_stream_create(&stream, engine, dnnl_stream_default_flags);
  if (status == dnnl_success) {
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, plain}, {DNNL_ARG_TO, m->packed}};
    status = dnnl_primitive_execute(reorder, stream, 2, args);
    if (status == dnnl_success) status = dnnl_stream_wait(stream);
  }
  if (stream) dnnl_stream_destroy(stream);
  if (reorder) dnnl_primitive_destroy(reorder);
  if (reorder_pd) dnnl_primitive_desc_destroy(reorder_pd);
  if (plain) dnnl_memory_destroy(plain);
  free(quantized);
  if (status != dnnl_success) {
    fail(error, error_size, "packing the weights", status);
    chorus_matmul_destroy(m);
    return NULL;
  }
  return m;
}

// Round-to-nearest-even fp32 → bf16, as oneDNN's own reorder does (NaN stays NaN).
static void to_bf16(const float *x, uint16_t *out, int64_t count) {
  const uint32_t *bits = (const uint32_t *)x;
  for (int64_t i = 0; i < count; i++) {
    uint32_t b = bits[i];
    if ((b & 0x7fffffffu) > 0x7f800000u) {
      out[i] = (uint16_t)((b >> 16) | 0x40);
      continue;
    }
    out[i] = (uint16_t)((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
  }
}

// Per-thread buffers that grow to the largest call: the converted source, the dense product, int8's row scales and oneDNN's scratch space.
typedef struct {
  void *data;
  size_t capacity;
} buffer;
static _Thread_local buffer source_buffer, product_buffer, row_scale_buffer, row_zero_buffer, scratchpad_buffer;

static void *reserve(buffer *b, size_t bytes) {
  if (b->capacity < bytes) {
    free(b->data);
    b->data = malloc(bytes);
    b->capacity = b->data ? bytes : 0;
  }
  return b->data;
}

// Runs `primitive` on x (already in the weights' type) into y[rows][n], with `bias` when given, on this thread's stream.
static int execute(chorus_matmul *m, dnnl_primitive_t primitive, const dnnl_memory_desc_t *scratchpad, const void *source, int64_t rows, void *y,
                   int64_t ldy, const float *bias, char *error, size_t error_size) {
  if (!thread_stream && dnnl_stream_create(&thread_stream, engine, dnnl_stream_default_flags) != dnnl_success) {
    fail(error, error_size, "stream creation", dnnl_runtime_error);
    return 1;
  }
  dnnl_memory_desc_t src_md, dst_md, bias_md;
  dnnl_dims_t src_dims = {rows, m->k}, bias_dims = {1, m->n};
  dnnl_memory_t src = NULL, dst = NULL, bias_memory = NULL, scratch = NULL;
  dnnl_status_t status = dnnl_memory_desc_init_by_tag(&src_md, 2, src_dims, m->src_type, dnnl_ab);
  if (status == dnnl_success) status = output_md(m, &dst_md, rows, ldy);
  if (status == dnnl_success) status = dnnl_memory_desc_init_by_tag(&bias_md, 2, bias_dims, dnnl_f32, dnnl_ab);
  if (status == dnnl_success) status = dnnl_memory_create(&src, &src_md, engine, (void *)source);
  if (status == dnnl_success) status = dnnl_memory_create(&dst, &dst_md, engine, y);
  if (status == dnnl_success && bias) status = dnnl_memory_create(&bias_memory, &bias_md, engine, (void *)bias);
  const size_t scratch_bytes = dnnl_memory_desc_get_size(scratchpad);
  if (status == dnnl_success && scratch_bytes) {
    void *space = reserve(&scratchpad_buffer, scratch_bytes);
    status = space ? dnnl_memory_create(&scratch, scratchpad, engine, space) : dnnl_out_of_memory;
  }
  if (status == dnnl_success) {
    dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, m->packed}, {DNNL_ARG_DST, dst}, {DNNL_ARG_SCRATCHPAD, scratch}, {DNNL_ARG_BIAS, bias_memory}};
    status = dnnl_primitive_execute(primitive, thread_stream, bias ? 5 : 4, args);
    if (status == dnnl_success) status = dnnl_stream_wait(thread_stream);
  }
  if (src) dnnl_memory_destroy(src);
  if (dst) dnnl_memory_destroy(dst);
  if (bias_memory) dnnl_memory_destroy(bias_memory);
  if (scratch) dnnl_memory_destroy(scratch);
  if (status != dnnl_success) {
    fail(error, error_size, "matmul execution", status);
    return 1;
  }
  return 0;
}


// Each row to uint8 with its own scale and zero point, over the row's range widened to include 0 (so 0 is exact,
// as in ONNX Runtime's DynamicQuantizeLinear). Rows from `rows` to `padded` are zeros.
__attribute__((target_clones("avx512f", "avx2", "default")))
static void quantize_rows(const float *x, int64_t rows, int64_t padded, int64_t k, uint8_t *q, float *scale, int32_t *zero) {
  for (int64_t r = 0; r < rows; r++) {
    const float *row = x + r * k;
    float low = 0, high = 0;
    float lows[16] = {0}, highs[16] = {0};  // 16 lanes, so the scan vectorises
    int64_t i = 0;
    for (; i + 16 <= k; i += 16)
      for (int l = 0; l < 16; l++) {
        lows[l] = row[i + l] < lows[l] ? row[i + l] : lows[l];
        highs[l] = row[i + l] > highs[l] ? row[i + l] : highs[l];
      }
    for (int l = 0; l < 16; l++) {
      low = lows[l] < low ? lows[l] : low;
      high = highs[l] > high ? highs[l] : high;
    }
    for (; i < k; i++) {
      low = row[i] < low ? row[i] : low;
      high = row[i] > high ? row[i] : high;
    }
    float s = high > low ? (high - low) / 255.0f : 1.0f, inverse = 1.0f / s;
    float z = __builtin_roundevenf(-low * inverse);
    z = z < 0 ? 0 : z > 255 ? 255 : z;
    uint8_t *out = q + r * k;
    for (int64_t i = 0; i < k; i++) {
      float v = __builtin_roundevenf(row[i] * inverse) + z;  // vectorises, unlike nearbyintf
      out[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    scale[r] = s;
    zero[r] = (int32_t)z;
  }
  memset(q + rows * k, 0, (size_t)((padded - rows) * k));
}

// y = row scale · column scale · (acc − row zero · column sum) + bias, written or added into y's strided rows.
// Restrict-qualified locals and one loop per case, so each loop vectorises (through `m` the compiler must assume the
// scales may alias y).
__attribute__((target_clones("avx512f", "avx2", "default")))
static void dequantize_rows(const chorus_matmul *m, const int32_t *restrict acc, int64_t rows, const float *restrict scale,
                            const int32_t *restrict zero, float *restrict y, int64_t ldy, const float *restrict bias, int accumulate) {
  const int64_t n = m->n;
  const float *restrict column_scale = m->column_scale;
  const int32_t *restrict column_sum = m->column_sum;
  for (int64_t r = 0; r < rows; r++) {
    const int32_t *restrict a = acc + r * n;
    float *restrict out = y + r * ldy;
    const float s = scale[r];
    const int32_t z = zero[r];
    if (accumulate && bias) {
      for (int64_t c = 0; c < n; c++) out[c] += s * column_scale[c] * (float)(a[c] - z * column_sum[c]) + bias[c];
    } else if (accumulate) {
      for (int64_t c = 0; c < n; c++) out[c] += s * column_scale[c] * (float)(a[c] - z * column_sum[c]);
    } else if (bias) {
      for (int64_t c = 0; c < n; c++) out[c] = s * column_scale[c] * (float)(a[c] - z * column_sum[c]) + bias[c];
    } else {
      for (int64_t c = 0; c < n; c++) out[c] = s * column_scale[c] * (float)(a[c] - z * column_sum[c]);
    }
  }
}

static int run(chorus_matmul *m, const float *x, int64_t rows, float *y, int64_t ldy, const float *bias, int accumulate, char *error,
               size_t error_size) {
  if (rows <= 0) return 0;
  // Padded row counts keep the primitive cache small when batches change size (text); fp32 callers have fixed shapes.
  const int64_t padded = m->precision == CHORUS_MATMUL_FP32 ? rows : (rows + 7) / 8 * 8;
  const int int8 = m->precision == CHORUS_MATMUL_INT8;
  // fp32 and bf16 products go straight into y when its rows are dense (strided rows would make oneDNN fall back to
  // its slower jit GEMM), the residual added by the kernel's store (sum post-op); int8's int32 products, padded rows
  // and strided outputs go through a dense buffer first.
  const int direct = !int8 && padded == rows && ldy == m->n;
  dnnl_status_t status = dnnl_success;
  dnnl_memory_desc_t scratchpad;
  dnnl_primitive_t primitive = direct ? primitive_for(m, rows, bias != NULL, ldy, accumulate, NULL, &scratchpad, &status)
                                      : primitive_for(m, padded, !int8 && bias != NULL, m->n, 0, NULL, &scratchpad, &status);
  if (!primitive) {
    fail(error, error_size, "a matmul for this row count", status);
    return 1;
  }
  const void *source = x;
  float *row_scale = NULL;
  int32_t *row_zero = NULL;
  if (m->precision == CHORUS_MATMUL_BF16) {
    uint16_t *rounded = reserve(&source_buffer, (size_t)(padded * m->k) * sizeof(uint16_t));
    if (!rounded) goto out_of_memory;
    to_bf16(x, rounded, rows * m->k);
    memset(rounded + rows * m->k, 0, (size_t)((padded - rows) * m->k) * sizeof(uint16_t));
    source = rounded;
  } else if (int8) {
    uint8_t *q = reserve(&source_buffer, (size_t)(padded * m->k));
    row_scale = reserve(&row_scale_buffer, (size_t)rows * sizeof(float));
    row_zero = reserve(&row_zero_buffer, (size_t)rows * sizeof(int32_t));
    if (!q || !row_scale || !row_zero) goto out_of_memory;
    quantize_rows(x, rows, padded, m->k, q, row_scale, row_zero);
    source = q;
  }
  if (direct) return execute(m, primitive, &scratchpad, source, rows, y, ldy, bias, error, error_size);
  void *product = reserve(&product_buffer, (size_t)(padded * m->n) * 4);  // f32 or s32
  if (!product) goto out_of_memory;
  if (execute(m, primitive, &scratchpad, source, padded, product, m->n, int8 ? NULL : bias, error, error_size)) return 1;
  if (int8) {
    dequantize_rows(m, product, rows, row_scale, row_zero, y, ldy, bias, accumulate);
    return 0;
  }
  const float *dense = product;
  for (int64_t r = 0; r < rows; r++) {
    float *target = y + r * ldy;
    const float *from = dense + r * m->n;
    if (accumulate) {
      for (int64_t c = 0; c < m->n; c++) target[c] += from[c];
    } else {
      memcpy(target, from, (size_t)m->n * sizeof(float));
    }
  }
  return 0;
out_of_memory:
  if (error && error_size) snprintf(error, error_size, "out of memory for a %lld-row matmul", (long long)rows);
  return 1;
}

int chorus_matmul_run(chorus_matmul *m, const float *x, int64_t rows, float *y, char *error, size_t error_size) {
  return run(m, x, rows, y, m->n, NULL, 0, error, error_size);
}

int chorus_matmul_run_part(chorus_matmul *m, const float *x, int64_t rows, float *y, int64_t ldy, const float *bias, int accumulate, char *error,
                           size_t error_size) {
  if (!thread_serial) {
    omp_set_num_threads(1);
    thread_serial = 1;
  }
  return run(m, x, rows, y, ldy, bias, accumulate, error, error_size);
}

const char *chorus_matmul_kernel(chorus_matmul *m, int64_t rows) {
  const char *kernel = NULL;
  dnnl_status_t status = dnnl_success;
  return primitive_for(m, rows, 0, m->n, 0, &kernel, NULL, &status) ? kernel : NULL;
}

void chorus_matmul_destroy(chorus_matmul *m) {
  if (!m) return;
  for (int i = 0; i < CACHE_SIZE; i++)
    if (m->cache[i].primitive) dnnl_primitive_destroy(m->cache[i].primitive);
  if (m->packed) dnnl_memory_destroy(m->packed);
  free(m->column_scale);
  free(m->column_sum);
  pthread_mutex_destroy(&m->lock);
  free(m);
}
