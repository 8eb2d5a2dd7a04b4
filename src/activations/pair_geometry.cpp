// The pair geometry of one chunk (pair_geometry.hpp). One function shared by every family, as it
// was before the families had their own files: inlined into each family's dual() it measured
// 1.5% slower for Relu.
#include <cfloat>
#include <cmath>

#include "activations/pair_geometry.hpp"

namespace ntkit::activations {
namespace {

// One entry of the geometry; `split` says whether q1 q2 may leave the normal range, so that r
// is √q1 √q2 there (two more square roots, only then).
template <bool split>
inline void geometry_entry(double q1, double q2, double k, Geometry& g, std::size_t i) {
  const double r2 = q1 * q2;
  double r_product = std::sqrt(r2);
  if constexpr (split) {
    // Tiny or huge norms: q1 q2 would underflow or overflow where √q1 √q2 does not.
    const bool in_range = (r2 >= DBL_MIN) & (r2 <= DBL_MAX);
    r_product = in_range ? r_product : std::sqrt(q1) * std::sqrt(q2);
  }
  // √(q·q) is q exactly; √q·√q (the split form) may be off by an ulp, which put a point
  // paired with itself at ρ one ulp below 1, sn at 1e-8, and moved kernels with an infinite
  // slope at ρ = 1 (Erf's at huge q) by 1e-8 on the diagonal.
  const double r = q1 == q2 ? q1 : r_product;
  const bool positive = r > 0;
  const double safe_r = positive ? r : 1.0;
  // Everything is evaluated unconditionally and then selected: GCC does not speculate a
  // conditional division (it could trap), and that branch alone blocked vectorization.
  const double ratio = clamp_value(k / safe_r, -1.0, 1.0);
  const double clipped = clamp_value(k, -r, r);
  const double rho = positive ? ratio : 0.0;
  const double sn = std::sqrt((1.0 - rho) * (1.0 + rho));
  g.rho[i] = rho;
  g.sn[i] = sn;
  g.kc[i] = positive ? clipped : 0.0;
  g.s[i] = r * sn;
}

}  // namespace

void geometry(const double* q1, const double* q2, const double* k, std::size_t n, Geometry& g) {
  // Both candidate values are computed and one selected, so the loops have no branches and
  // vectorize (with the branches they did not: 38 instructions per entry by callgrind). A
  // chunk whose products q1 q2 are all in the normal range (almost every chunk) skips the
  // split square roots: the same values, a third fewer square roots.
  bool all_in_range = true;
#pragma omp simd reduction(& : all_in_range)
  for (std::size_t i = 0; i < n; ++i) {
    const double r2 = q1[i] * q2[i];
    all_in_range &= (r2 >= DBL_MIN) & (r2 <= DBL_MAX);
  }
  if (all_in_range) {
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) geometry_entry<false>(q1[i], q2[i], k[i], g, i);
  } else {
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) geometry_entry<true>(q1[i], q2[i], k[i], g, i);
  }
}

}  // namespace ntkit::activations
