// ParallelErrors (src/parallel_errors.hpp): an exception thrown inside an OpenMP region, on any
// thread, reaches the calling thread after the region instead of ending in std::terminate.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <new>
#include <stdexcept>
#include <vector>

#include "parallel_errors.hpp"

namespace ntkit::detail {
namespace {

TEST(ParallelErrors, ExceptionFromOneThreadIsRethrownOnTheCaller) {
  const int threads = std::max(2, omp_get_max_threads());
  ParallelErrors errors;
  std::atomic<int> started{0};
#pragma omp parallel num_threads(threads)
  {
    errors.run([&] {
      ++started;
      // The last thread throws; the others do ordinary work.
      if (omp_get_thread_num() == omp_get_num_threads() - 1) throw std::runtime_error("thrown on a worker");
    });
  }
  EXPECT_GE(started.load(), 1);
  EXPECT_TRUE(errors.failed());
  try {
    errors.rethrow_if_any();
    FAIL() << "no exception rethrown";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "thrown on a worker");
  }
}

TEST(ParallelErrors, BadAllocInParallelForKeepsItsTypeAndStopsTheOtherTasks) {
  ParallelErrors errors;
  std::atomic<int> ran{0};
#pragma omp parallel for schedule(dynamic, 1) num_threads(2)
  for (int i = 0; i < 1000; ++i) {
    errors.run([&] {
      ++ran;
      if (i == 3) throw std::bad_alloc();
      std::vector<double> work(16);  // an ordinary allocation in the region
      work[0] = i;
    });
  }
  EXPECT_THROW(errors.rethrow_if_any(), std::bad_alloc);
  EXPECT_LT(ran.load(), 1000);  // tasks after the failure were skipped
}

TEST(ParallelErrors, OnlyTheFirstOfManyExceptionsIsKept) {
  ParallelErrors errors;
#pragma omp parallel for num_threads(2)
  for (int i = 0; i < 64; ++i) {
    if (i % 2 == 0) {
      try {
        throw std::invalid_argument("task failed");
      } catch (...) {
        errors.capture_current();
      }
    }
  }
  EXPECT_THROW(errors.rethrow_if_any(), std::invalid_argument);
}

TEST(ParallelErrors, NoExceptionNoRethrow) {
  ParallelErrors errors;
  std::vector<int> out(100, 0);
#pragma omp parallel for num_threads(2)
  for (int i = 0; i < 100; ++i) errors.run([&] { out[static_cast<std::size_t>(i)] = i; });
  EXPECT_FALSE(errors.failed());
  EXPECT_NO_THROW(errors.rethrow_if_any());
  for (int i = 0; i < 100; ++i) EXPECT_EQ(out[static_cast<std::size_t>(i)], i);
}

}  // namespace
}  // namespace ntkit::detail
