// parallelFor: a shared counter hands out the indices; each job's exception
// is kept by index so that the error reported is the one a serial run meets.
#include "compiler/emit/ParallelFor.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <system_error>
#include <thread>
#include <vector>

namespace nncc {

unsigned defaultJobs() { return std::max(1u, std::thread::hardware_concurrency()); }

void parallelFor(size_t n, unsigned workers, const std::function<void(size_t)> &job) {
  if (workers <= 1 || n <= 1) {
    for (size_t i = 0; i < n; ++i) job(i);
    return;
  }
  std::vector<std::exception_ptr> errors(n);
  std::atomic<size_t> next{0};
  std::atomic<size_t> firstFailed{n};
  auto work = [&] {
    for (size_t i = next++; i < n; i = next++) {
      if (i > firstFailed.load()) continue;  // a lower index failed: this result is not needed
      try {
        job(i);
      } catch (...) {
        errors[i] = std::current_exception();
        size_t seen = firstFailed.load();
        while (i < seen && !firstFailed.compare_exchange_weak(seen, i)) {
        }
      }
    }
  };
  std::vector<std::thread> threads;
  size_t count = std::min<size_t>(workers, n);
  for (size_t t = 1; t < count; ++t) {
    try {
      threads.emplace_back(work);
    } catch (const std::system_error &) {
      break;  // no more threads: the ones running (and this one) take every index
    }
  }
  work();  // the calling thread is one of the workers
  for (std::thread &t : threads) t.join();
  for (const std::exception_ptr &e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace nncc
