// Sign: φ(x) = sign(x) (0 at 0), φ' = 0 almost everywhere (as in neural-tangents).
//
// Dual (docs/mathematics.md §5): T = 1 − 2θ/π (= (2/π) arcsin ρ), Ṫ = 0 (neural-tangents' Sign).
// A zero-norm side (θ = π/2, docs/mathematics.md §6) gives T = 0.
#include <algorithm>

#include "activations/catalogue.hpp"
#include "activations/pair_geometry.hpp"
#include "vector_math.hpp"

namespace ntkit::activations {
namespace {

class Sign final : public ActivationRules {
 public:
  explicit Sign(const ActivationLayer&) {}
  double value(double x) const override { return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0); }
  double derivative(double) const override { return 0.0; }

  void dual(const double* q1, const double* q2, const double* k, double* t, double* tdot, std::size_t n) const override {
    Geometry g;
    geometry(q1, q2, k, n, g);
    double theta[kChunk];
    detail::atan2_array(g.sn, g.rho, theta, n);
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) t[i] = 1.0 - 2.0 * theta[i] / kPi;
    if (tdot) std::fill_n(tdot, n, 0.0);
  }
};

}  // namespace

const ActivationEntry& sign_entry() {
  static const ActivationEntry entry{{ActivationKind::Sign, "Sign", {}}, nullptr, make_rules_of<Sign>};
  return entry;
}

}  // namespace ntkit::activations
