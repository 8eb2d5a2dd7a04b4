// Validation of numeric inputs shared by the kernel routines (private).
#pragma once

#include <cmath>
#include <sstream>
#include <string>

#include "ntkit/error.hpp"
#include "ntkit/types.hpp"

namespace ntkit::detail {

/// Throws ntkit::Error naming the routine, the argument, the value and its position (0-based)
/// if `x` holds a NaN or an Inf. Call it before any OpenMP region: nothing may throw inside one.
template <class T>
void require_finite_input(const MatrixView<T>& x, const char* routine, const char* name) {
  if (x.allFinite()) return;
  for (Eigen::Index i = 0; i < x.rows(); ++i)
    for (Eigen::Index j = 0; j < x.cols(); ++j)
      if (!std::isfinite(x(i, j))) {
        std::ostringstream msg;
        msg << routine << ": " << name << " has a non-finite value (" << x(i, j) << ") at row " << i << ", column " << j
            << " (0-based); the kernel needs finite inputs";
        throw Error(msg.str());
      }
}

}  // namespace ntkit::detail
