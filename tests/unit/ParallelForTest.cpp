// parallelFor (compiler/emit/ParallelFor.h): every index runs exactly once
// whatever the thread count, results kept by index, and the exception
// rethrown is the lowest failing index's, as in a serial run.
#include "compiler/emit/ParallelFor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace nncc {
namespace {

TEST(ParallelFor, RunsEveryIndexOnceForAnyThreadCount) {
  for (unsigned workers : {0u, 1u, 2u, 3u, 8u, 100u}) {
    for (size_t n : {size_t(0), size_t(1), size_t(5), size_t(64)}) {
      std::vector<std::atomic<int>> runs(n);
      std::vector<size_t> squares(n, 0);
      parallelFor(n, workers, [&](size_t i) {
        ++runs[i];
        squares[i] = i * i;
      });
      for (size_t i = 0; i < n; ++i) {
        EXPECT_EQ(runs[i].load(), 1) << "n " << n << ", workers " << workers << ", index " << i;
        EXPECT_EQ(squares[i], i * i);
      }
    }
  }
}

TEST(ParallelFor, UsesSeveralThreads) {
  // Two jobs that each wait for the other to have started: only finishes
  // when they run at the same time (a serial run would wait forever, so the
  // wait is bounded and the count checked instead).
  std::atomic<int> started{0};
  std::set<std::thread::id> ids;
  std::mutex m;
  parallelFor(2, 2, [&](size_t) {
    ++started;
    for (int spin = 0; spin < 2000 && started.load() < 2; ++spin) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::lock_guard<std::mutex> lock(m);
    ids.insert(std::this_thread::get_id());
  });
  EXPECT_EQ(ids.size(), 2u);
}

TEST(ParallelFor, SerialWithOneWorker) {
  std::vector<size_t> order;
  parallelFor(6, 1, [&](size_t i) { order.push_back(i); });
  EXPECT_EQ(order, (std::vector<size_t>{0, 1, 2, 3, 4, 5}));
}

TEST(ParallelFor, RethrowsTheLowestFailingIndex) {
  for (unsigned workers : {1u, 2u, 4u}) {
    // Index 3 fails late, index 7 fails at once: a serial run meets 3 first.
    try {
      parallelFor(10, workers, [&](size_t i) {
        if (i == 3) {
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
          throw std::runtime_error("job 3");
        }
        if (i == 7) throw std::logic_error("job 7");
      });
      FAIL() << "no exception, workers " << workers;
    } catch (const std::runtime_error &e) {
      EXPECT_EQ(std::string(e.what()), "job 3") << "workers " << workers;
    } catch (const std::logic_error &e) {
      FAIL() << "got '" << e.what() << "', expected job 3's error, workers " << workers;
    }
  }
}

TEST(ParallelFor, DefaultJobsIsAtLeastOne) { EXPECT_GE(defaultJobs(), 1u); }

}  // namespace
}  // namespace nncc
