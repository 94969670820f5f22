#include "cmatmul.h"

#include <oneapi/dnnl/dnnl.h>
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
  dnnl_data_type_t type;
  dnnl_memory_desc_t packed_md;  // the weights' layout, chosen once
  dnnl_memory_t packed;
  pthread_mutex_t lock;          // guards the primitive cache
  struct {
    int64_t rows;
    int bias;
    dnnl_primitive_t primitive;
    const char *kernel;
  } cache[CACHE_SIZE];
  int next_slot;
};

static void fail(char *error, size_t size, const char *what, dnnl_status_t status) {
  if (error && size) snprintf(error, size, "oneDNN: %s failed (status %d)", what, (int)status);
}

// The matmul primitive for `rows` rows (with a bias input or not) against the packed weights, from the cache or
// made now. A primitive runs with as many threads as its caller's OpenMP setting gives it.
static dnnl_primitive_t primitive_for(chorus_matmul *m, int64_t rows, int bias, const char **kernel, dnnl_status_t *status) {
  pthread_mutex_lock(&m->lock);
  for (int i = 0; i < CACHE_SIZE; i++) {
    if (m->cache[i].primitive && m->cache[i].rows == rows && m->cache[i].bias == bias) {
      dnnl_primitive_t found = m->cache[i].primitive;
      if (kernel) *kernel = m->cache[i].kernel;
      pthread_mutex_unlock(&m->lock);
      return found;
    }
  }
  dnnl_memory_desc_t src_md, dst_md, bias_md;
  dnnl_dims_t src_dims = {rows, m->k}, dst_dims = {rows, m->n}, bias_dims = {1, m->n};
  dnnl_primitive_t primitive = NULL;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_matmul_desc_t desc;
  *status = dnnl_memory_desc_init_by_tag(&src_md, 2, src_dims, m->type, dnnl_ab);
  if (*status == dnnl_success) *status = dnnl_memory_desc_init_by_tag(&dst_md, 2, dst_dims, dnnl_f32, dnnl_ab);
  if (*status == dnnl_success) *status = dnnl_memory_desc_init_by_tag(&bias_md, 2, bias_dims, dnnl_f32, dnnl_ab);
  if (*status == dnnl_success) *status = dnnl_matmul_desc_init(&desc, &src_md, &m->packed_md, bias ? &bias_md : NULL, &dst_md);
  if (*status == dnnl_success) *status = dnnl_primitive_desc_create(&pd, &desc, NULL, engine, NULL);
  if (*status == dnnl_success) *status = dnnl_primitive_create(&primitive, pd);
  const char *name = NULL;
  if (*status == dnnl_success) dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name);
  if (pd) dnnl_primitive_desc_destroy(pd);
  if (*status == dnnl_success) {
    int slot = m->next_slot;
    m->next_slot = (m->next_slot + 1) % CACHE_SIZE;
    if (m->cache[slot].primitive) dnnl_primitive_destroy(m->cache[slot].primitive);
    m->cache[slot].rows = rows;
    m->cache[slot].bias = bias;
    m->cache[slot].primitive = primitive;
    m->cache[slot].kernel = name;  // a static string of the library
    if (kernel) *kernel = name;
  }
  pthread_mutex_unlock(&m->lock);
  return primitive;
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
  m->type = precision == CHORUS_MATMUL_BF16 ? dnnl_bf16 : dnnl_f32;
  pthread_mutex_init(&m->lock, NULL);

  // The layout the kernel prefers, asked for a typical batch (128 rows); the same layout serves other row counts.
  dnnl_memory_desc_t src_md, any_md, dst_md, plain_md;
  dnnl_dims_t src_dims = {128, k}, weight_dims = {k, n}, dst_dims = {128, n};
  dnnl_matmul_desc_t desc;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_status_t status = dnnl_memory_desc_init_by_tag(&src_md, 2, src_dims, m->type, dnnl_ab);
  if (status == dnnl_success) status = dnnl_memory_desc_init_by_tag(&any_md, 2, weight_dims, m->type, dnnl_format_tag_any);
  if (status == dnnl_success) status = dnnl_memory_desc_init_by_tag(&dst_md, 2, dst_dims, dnnl_f32, dnnl_ab);
  if (status == dnnl_success) status = dnnl_matmul_desc_init(&desc, &src_md, &any_md, NULL, &dst_md);
  if (status == dnnl_success) status = dnnl_primitive_desc_create(&pd, &desc, NULL, engine, NULL);
  if (status != dnnl_success) {
    fail(error, error_size, precision == CHORUS_MATMUL_BF16 ? "a bf16 matmul (this CPU may not compute bf16)" : "an fp32 matmul", status);
    chorus_matmul_destroy(m);
    return NULL;
  }
  m->packed_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
  dnnl_primitive_desc_destroy(pd);

  // W is [n][k] row-major: as the k × n matrix matmul wants, that is column-major ("ba").
  dnnl_memory_t plain = NULL;
  dnnl_primitive_desc_t reorder_pd = NULL;
  dnnl_primitive_t reorder = NULL;
  dnnl_stream_t stream = NULL;
  status = dnnl_memory_desc_init_by_tag(&plain_md, 2, weight_dims, dnnl_f32, dnnl_ba);
  if (status == dnnl_success) status = dnnl_memory_create(&plain, &plain_md, engine, (void *)weights);
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

// Runs `primitive` on x (already in the weights' type) into y[rows][n], with `bias` when given, on this thread's stream.
static int execute(chorus_matmul *m, dnnl_primitive_t primitive, const void *source, int64_t rows, float *y, const float *bias, char *error,
                   size_t error_size) {
  if (!thread_stream && dnnl_stream_create(&thread_stream, engine, dnnl_stream_default_flags) != dnnl_success) {
    fail(error, error_size, "stream creation", dnnl_runtime_error);
    return 1;
  }
  dnnl_memory_desc_t src_md, dst_md, bias_md;
  dnnl_dims_t src_dims = {rows, m->k}, dst_dims = {rows, m->n}, bias_dims = {1, m->n};
  dnnl_memory_t src = NULL, dst = NULL, bias_memory = NULL;
  dnnl_status_t status = dnnl_memory_desc_init_by_tag(&src_md, 2, src_dims, m->type, dnnl_ab);
  if (status == dnnl_success) status = dnnl_memory_desc_init_by_tag(&dst_md, 2, dst_dims, dnnl_f32, dnnl_ab);
  if (status == dnnl_success) status = dnnl_memory_desc_init_by_tag(&bias_md, 2, bias_dims, dnnl_f32, dnnl_ab);
  if (status == dnnl_success) status = dnnl_memory_create(&src, &src_md, engine, (void *)source);
  if (status == dnnl_success) status = dnnl_memory_create(&dst, &dst_md, engine, y);
  if (status == dnnl_success && bias) status = dnnl_memory_create(&bias_memory, &bias_md, engine, (void *)bias);
  if (status == dnnl_success) {
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, m->packed}, {DNNL_ARG_DST, dst}, {DNNL_ARG_BIAS, bias_memory}};
    status = dnnl_primitive_execute(primitive, thread_stream, bias ? 4 : 3, args);
    if (status == dnnl_success) status = dnnl_stream_wait(thread_stream);
  }
  if (src) dnnl_memory_destroy(src);
  if (dst) dnnl_memory_destroy(dst);
  if (bias_memory) dnnl_memory_destroy(bias_memory);
  if (status != dnnl_success) {
    fail(error, error_size, "matmul execution", status);
    return 1;
  }
  return 0;
}

int chorus_matmul_run(chorus_matmul *m, const float *x, int64_t rows, float *y, char *error, size_t error_size) {
  if (rows <= 0) return 0;
  dnnl_status_t status = dnnl_success;
  dnnl_primitive_t primitive = primitive_for(m, rows, 0, NULL, &status);
  if (!primitive) {
    fail(error, error_size, "a matmul for this row count", status);
    return 1;
  }
  uint16_t *rounded = NULL;
  const void *source = x;
  if (m->type == dnnl_bf16) {
    rounded = malloc((size_t)(rows * m->k) * sizeof *rounded);
    to_bf16(x, rounded, rows * m->k);
    source = rounded;
  }
  int result = execute(m, primitive, source, rows, y, NULL, error, error_size);
  free(rounded);
  return result;
}

int chorus_matmul_run_serial(chorus_matmul *m, const float *x, int64_t rows, float *y, const float *bias, char *error, size_t error_size) {
  if (rows <= 0) return 0;
  if (m->type != dnnl_f32) {
    fail(error, error_size, "a serial run (fp32 only)", dnnl_unimplemented);
    return 1;
  }
  if (!thread_serial) {
    omp_set_num_threads(1);
    thread_serial = 1;
  }
  dnnl_status_t status = dnnl_success;
  dnnl_primitive_t primitive = primitive_for(m, rows, bias != NULL, NULL, &status);
  if (!primitive) {
    fail(error, error_size, "a matmul for this row count", status);
    return 1;
  }
  return execute(m, primitive, x, rows, y, bias, error, error_size);
}

const char *chorus_matmul_kernel(chorus_matmul *m, int64_t rows) {
  const char *kernel = NULL;
  dnnl_status_t status = dnnl_success;
  return primitive_for(m, rows, 0, &kernel, &status) ? kernel : NULL;
}

void chorus_matmul_destroy(chorus_matmul *m) {
  if (!m) return;
  for (int i = 0; i < CACHE_SIZE; i++)
    if (m->cache[i].primitive) dnnl_primitive_destroy(m->cache[i].primitive);
  if (m->packed) dnnl_memory_destroy(m->packed);
  pthread_mutex_destroy(&m->lock);
  free(m);
}
