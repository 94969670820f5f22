#include "chorus_hnsw.h"

#include <hnswlib/hnswlib.h>

#include <atomic>
#include <cstdio>
#include <fcntl.h>
#include <memory>
#include <thread>
#include <unistd.h>
#include <vector>

extern "C" float chorus_dot(const float *a, const float *b, size_t count);

namespace {

/// hnswlib picks its SIMD distance at compile time; this space calls CKernels' dot product instead, which is
/// compiled for AVX-512, AVX2 and baseline and chosen at load time, so one binary is fast on every x86-64.
class DotSpace final : public hnswlib::SpaceInterface<float> {
 public:
  explicit DotSpace(size_t dimension) : dimension_(dimension) {}
  size_t get_data_size() override { return dimension_ * sizeof(float); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return distance; }
  void *get_dist_func_param() override { return &dimension_; }

 private:
  static float distance(const void *a, const void *b, const void *parameter) {
    return 1.0f - chorus_dot(static_cast<const float *>(a), static_cast<const float *>(b), *static_cast<const size_t *>(parameter));
  }
  size_t dimension_;
};

void report(char *error, size_t size, const char *message) {
  if (error && size) snprintf(error, size, "%s", message);
}

}  // namespace

struct chorus_hnsw {
  std::unique_ptr<DotSpace> space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> graph;
  size_t dimension;
};

namespace {

/// Inserts vectors [begin, count) with labels first_label + i on `threads` threads (hnswlib's insertions are safe
/// side by side, except into an empty graph).
void insert(hnswlib::HierarchicalNSW<float> &graph, const float *vectors, size_t dimension, size_t begin, size_t count, size_t first_label,
            int threads) {
  std::atomic<size_t> next{begin};
  std::atomic<bool> failed{false};
  auto work = [&] {
    try {
      for (size_t i = next++; i < count && !failed; i = next++) graph.addPoint(vectors + i * dimension, first_label + i);
    } catch (...) {
      failed = true;
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; t++) pool.emplace_back(work);
  work();
  for (auto &thread : pool) thread.join();
  if (failed) throw std::runtime_error("an insertion failed (out of memory?)");
}

}  // namespace

extern "C" chorus_hnsw *chorus_hnsw_build(const float *vectors, size_t count, size_t dimension, size_t m, size_t ef_construction,
                                          size_t ef_search, unsigned seed, int threads, char *error, size_t error_size) {
  try {
    auto result = std::make_unique<chorus_hnsw>();
    result->dimension = dimension;
    result->space = std::make_unique<DotSpace>(dimension);
    result->graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(result->space.get(), count > 0 ? count : 1, m, ef_construction, seed);
    result->graph->setEf(ef_search);
    if (count > 0) {
      result->graph->addPoint(vectors, 0);
      insert(*result->graph, vectors, dimension, 1, count, 0, threads);
    }
    return result.release();
  } catch (const std::exception &e) {
    report(error, error_size, e.what());
  } catch (...) {
    report(error, error_size, "unknown failure building the graph");
  }
  return nullptr;
}

extern "C" int chorus_hnsw_add(chorus_hnsw *graph, const float *vectors, size_t count, size_t first_label, int threads, char *error,
                               size_t error_size) {
  try {
    auto &g = *graph->graph;
    if (g.cur_element_count + count > g.max_elements_) g.resizeIndex(g.cur_element_count + count);
    size_t begin = 0;
    if (g.cur_element_count == 0 && count > 0) {
      g.addPoint(vectors, first_label);
      begin = 1;
    }
    insert(g, vectors, graph->dimension, begin, count, first_label, threads);
    return 0;
  } catch (const std::exception &e) {
    report(error, error_size, e.what());
  } catch (...) {
    report(error, error_size, "unknown failure adding to the graph");
  }
  return -1;
}

extern "C" void chorus_hnsw_mark_deleted(chorus_hnsw *graph, uint32_t label) {
  auto &g = *graph->graph;
  auto found = g.label_lookup_.find(label);
  if (found != g.label_lookup_.end() && !g.isMarkedDeleted(found->second)) g.markDelete(label);
}

extern "C" chorus_hnsw *chorus_hnsw_load(const char *path, size_t dimension, size_t ef_search, size_t extra_capacity, char *error,
                                         size_t error_size) {
  try {
    auto result = std::make_unique<chorus_hnsw>();
    result->dimension = dimension;
    result->space = std::make_unique<DotSpace>(dimension);
    result->graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(result->space.get(), std::string(path));
    if (extra_capacity > 0) result->graph->resizeIndex(result->graph->cur_element_count + extra_capacity);
    // A graph of another dimension has another element size; hnswlib would read it as garbage.
    if (result->graph->data_size_ != dimension * sizeof(float) ||
        result->graph->size_data_per_element_ != result->graph->size_links_level0_ + dimension * sizeof(float) + sizeof(hnswlib::labeltype)) {
      report(error, error_size, "the graph file holds vectors of another dimension");
      return nullptr;
    }
    result->graph->setEf(ef_search);
    return result.release();
  } catch (const std::exception &e) {
    report(error, error_size, e.what());
  } catch (...) {
    report(error, error_size, "unknown failure loading the graph");
  }
  return nullptr;
}

extern "C" int chorus_hnsw_save(const chorus_hnsw *graph, const char *path, char *error, size_t error_size) {
  try {
    graph->graph->saveIndex(path);
    int fd = open(path, O_RDONLY);
    if (fd < 0 || fsync(fd) != 0) {
      if (fd >= 0) close(fd);
      report(error, error_size, "could not write the graph file to disk");
      return -1;
    }
    close(fd);
    return 0;
  } catch (const std::exception &e) {
    report(error, error_size, e.what());
  } catch (...) {
    report(error, error_size, "unknown failure saving the graph");
  }
  return -1;
}

extern "C" size_t chorus_hnsw_search(const chorus_hnsw *graph, const float *query, size_t k, uint32_t *labels, float *distances) {
  auto found = graph->graph->searchKnn(query, k);
  // The queue pops the farthest first; fill from the back so the output is best first.
  size_t n = found.size();
  for (size_t i = n; i-- > 0;) {
    labels[i] = static_cast<uint32_t>(found.top().second);
    distances[i] = found.top().first;
    found.pop();
  }
  return n;
}

extern "C" int chorus_hnsw_vector(const chorus_hnsw *graph, uint32_t label, float *out) {
  auto &lookup = graph->graph->label_lookup_;
  auto found = lookup.find(label);
  if (found == lookup.end()) return -1;
  memcpy(out, graph->graph->getDataByInternalId(found->second), graph->dimension * sizeof(float));
  return 0;
}

extern "C" size_t chorus_hnsw_count(const chorus_hnsw *graph) { return graph->graph->cur_element_count; }

extern "C" void chorus_hnsw_free(chorus_hnsw *graph) { delete graph; }
