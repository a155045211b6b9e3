// Work spread over the machine's cores, for the few loops that need it
// (linkage scoring, blocking, the release audit, log verification). Plain
// threads started and joined per call: each call does seconds of work, so
// a pool would save nothing and would outlive its callers' data.
#pragma once

#include <algorithm>
#include <cstddef>
#include <thread>
#include <vector>

namespace trelink {

// How many threads a parallel loop uses: the machine's cores, at most 8.
inline size_t WorkerThreads() {
  return std::max<size_t>(1, std::min<size_t>(std::thread::hardware_concurrency(), 8));
}

// Runs work(t) for every t in [0, threads), each on its own thread (the
// caller's thread runs t = 0), and returns when all have finished.
template <typename Work>
void OnEachThread(size_t threads, Work work) {
  std::vector<std::thread> others;
  for (size_t t = 1; t < threads; ++t) others.emplace_back([&work, t] { work(t); });
  if (threads > 0) work(size_t{0});
  for (std::thread& thread : others) thread.join();
}

// Runs work(begin, end) over [0, n) split into WorkerThreads() contiguous
// ranges; below `serial_below` items, on the caller's thread alone.
template <typename Work>
void InParallel(size_t n, Work work, size_t serial_below = 0) {
  const size_t threads = WorkerThreads();
  if (threads == 1 || n < serial_below) {
    work(size_t{0}, n);
    return;
  }
  OnEachThread(threads, [&](size_t t) { work(n * t / threads, n * (t + 1) / threads); });
}

}  // namespace trelink
