// Exceptions out of OpenMP regions (private). An exception that leaves the structured block of
// an `#pragma omp parallel` or `parallel for` region (a bad_alloc, an ntkit::Error from a
// callback) does not reach the caller: the runtime calls std::terminate. ParallelErrors keeps
// the first exception thrown inside a region and rethrows it on the calling thread afterwards:
//
//   detail::ParallelErrors errors;
//   #pragma omp parallel for
//   for (...) errors.run([&] { ...may throw... });
//   errors.rethrow_if_any();
//
// Once one task has failed, the others skip their work (run returns at once), so a failing
// region ends soon; what the skipped iterations would have written is unspecified, which does
// not matter because the caller gets the exception instead of a result.
#pragma once

#include <atomic>
#include <exception>

namespace ntkit::detail {

class ParallelErrors {
 public:
  /// Calls f() unless a task has already failed; an exception from f is kept, not thrown.
  template <class F>
  void run(F&& f) noexcept {
    if (failed()) return;
    try {
      f();
    } catch (...) {
      capture_current();
    }
  }

  /// Keeps the exception being handled (call it inside a catch block) if it is the first.
  void capture_current() noexcept {
    // std::current_exception does not throw; out of memory it returns a bad_alloc or
    // bad_exception pointer, which still reports the failure.
#pragma omp critical(ntkit_parallel_errors)
    {
      if (!first_) first_ = std::current_exception();
    }
    failed_.store(true, std::memory_order_relaxed);
  }

  bool failed() const noexcept { return failed_.load(std::memory_order_relaxed); }

  /// After the region, on the calling thread: rethrows the first exception kept, if any.
  void rethrow_if_any() const {
    if (first_) std::rethrow_exception(first_);
  }

 private:
  std::exception_ptr first_;
  std::atomic<bool> failed_{false};
};

}  // namespace ntkit::detail
