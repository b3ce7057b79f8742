// Allocator tuning for processes that move large payloads (engine, gateway, workers).
//
// By default glibc serves every buffer of 128 KiB or more with a fresh mmap() and returns it
// with munmap() on free, so each large payload faults its pages in again on every call:
// ~740 minor faults per 1 MiB echo, 9.6 ms p50 (docs/performance.md, finding F5). Raising
// the mmap and trim thresholds keeps such buffers in the heap for reuse: 1 MiB echo p50
// drops to ~0.9 ms. The memory kept is bounded by the largest payloads in flight.
// Thread rule: call once at process start, before other threads exist.
#pragma once

#include <malloc.h>

namespace nightjar {

inline void TuneAllocatorForPayloads() {
  mallopt(M_MMAP_THRESHOLD, 64 << 20);   // buffers below 64 MiB come from the heap
  mallopt(M_TRIM_THRESHOLD, 256 << 20);  // and freed ones are kept for the next call
}

}  // namespace nightjar
