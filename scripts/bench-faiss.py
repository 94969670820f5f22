#!/usr/bin/env python3
"""FAISS side of `chorus-bench search`: IndexHNSWFlat (inner product) on the same vectors, queries and ground truth.

  bench-faiss.py BASE.f32 QUERIES.f32 TRUTH.i32 DIM M EF_CONSTRUCTION EF[,EF...]

Vectors are raw little-endian float32 rows; TRUTH holds the exact top-10 row numbers per query (int32). Builds
with 2 threads, searches one query at a time on one thread (as a daemon serves a single request), and prints one
JSON object: build seconds and, per ef, recall@10, p50 and p99 latency in ms. Needs numpy and faiss-cpu (PyPI).
"""
import json
import sys
import time

import faiss
import numpy as np


def main():
    base_path, queries_path, truth_path = sys.argv[1:4]
    dim, m, ef_construction = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    efs = [int(x) for x in sys.argv[7].split(",")]
    base = np.fromfile(base_path, dtype=np.float32).reshape(-1, dim)
    queries = np.fromfile(queries_path, dtype=np.float32).reshape(-1, dim)
    truth = np.fromfile(truth_path, dtype=np.int32).reshape(len(queries), -1)[:, :10]

    faiss.omp_set_num_threads(2)
    index = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = ef_construction
    start = time.perf_counter()
    index.add(base)
    build = time.perf_counter() - start

    faiss.omp_set_num_threads(1)
    results = []
    for ef in efs:
        index.hnsw.efSearch = ef
        for q in queries[:50]:  # warm up
            index.search(q[None, :], 10)
        latencies, hits = [], 0
        for q, expected in zip(queries, truth):
            start = time.perf_counter()
            _, labels = index.search(q[None, :], 10)
            latencies.append((time.perf_counter() - start) * 1000)
            hits += len(set(labels[0].tolist()) & set(expected.tolist()))
        latencies.sort()
        results.append({
            "ef": ef,
            "recall": hits / (10 * len(queries)),
            "p50_ms": latencies[len(latencies) // 2],
            "p99_ms": latencies[int(len(latencies) * 0.99)],
        })
    print(json.dumps({"build_seconds": build, "results": results}))


if __name__ == "__main__":
    main()
