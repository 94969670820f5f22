// A C face on hnswlib (Debian libhnswlib-dev, header-only C++) so Swift can build, search, save and load HNSW graphs.
// A graph is built once over a fixed set of vectors and never changed afterwards: hnswlib allows concurrent searches,
// and concurrent insertions, but not the two mixed, so Chorus treats each graph as an immutable segment.
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct chorus_hnsw chorus_hnsw;

/// Builds a graph over `count` row-major vectors of `dimension` floats; vector i gets label i. Distance is
/// 1 − dot product, so vectors should be unit length (cosine). `threads` threads insert side by side.
/// Returns NULL and a message in `error` on failure (e.g. out of memory).
chorus_hnsw *chorus_hnsw_build(const float *vectors, size_t count, size_t dimension, size_t m, size_t ef_construction,
                               size_t ef_search, unsigned seed, int threads, char *error, size_t error_size);

/// Loads a graph saved by chorus_hnsw_save, with room for `extra_capacity` more vectors; NULL and a message when
/// the file is missing, truncated or not a graph of this dimension.
chorus_hnsw *chorus_hnsw_load(const char *path, size_t dimension, size_t ef_search, size_t extra_capacity, char *error, size_t error_size);

/// Adds `count` vectors with labels first_label, first_label + 1, … (`threads` side by side). Only for a graph no
/// one searches yet (a merge extends a private copy). Returns 0, or -1 with a message.
int chorus_hnsw_add(chorus_hnsw *graph, const float *vectors, size_t count, size_t first_label, int threads, char *error, size_t error_size);

/// Marks a label deleted: it still routes searches but is never returned. Only for a graph no one searches yet.
void chorus_hnsw_mark_deleted(chorus_hnsw *graph, uint32_t label);

/// Writes the graph to `path` and fsyncs it. Returns 0, or -1 with a message.
int chorus_hnsw_save(const chorus_hnsw *graph, const char *path, char *error, size_t error_size);

/// The `k` nearest labels to `query` (unit length), best first; returns how many were found (≤ k).
/// Safe to call from many threads at once.
size_t chorus_hnsw_search(const chorus_hnsw *graph, const float *query, size_t k, uint32_t *labels, float *distances);

/// Copies the stored vector of `label` into `out` (dimension floats); returns 0, or -1 when there is no such label.
int chorus_hnsw_vector(const chorus_hnsw *graph, uint32_t label, float *out);

size_t chorus_hnsw_count(const chorus_hnsw *graph);

void chorus_hnsw_free(chorus_hnsw *graph);

#ifdef __cplusplus
}
#endif
