// DualActivation: the infinite-width rules of an activation layer, applied chunk by chunk. The
// formulas live with their family in src/activations/ (one file per family); this file only
// copies each chunk (so that outputs may alias inputs) and hands it to the family.
#include "ntkit/dual_activation.hpp"

#include <algorithm>

#include "activations/catalogue.hpp"

namespace ntkit {

using activations::kChunk;

DualActivation::DualActivation(const ActivationLayer& layer, int quadrature_degree) : layer_(layer) {
  check_layer_arguments(Layer{layer});
  rules_ = activations::entry_of(layer.kind).make_rules(layer, quadrature_degree);
}

bool DualActivation::has_closed_form() const { return rules_->has_closed_form(); }

void DualActivation::apply(const double* q1, const double* q2, const double* k, double* t, double* tdot,
                           std::size_t n) const {
  // Inputs are copied block by block, so outputs may alias them.
  double lq1[kChunk], lq2[kChunk], lk[kChunk];
  for (std::size_t start = 0; start < n; start += kChunk) {
    const std::size_t len = std::min(kChunk, n - start);
    std::copy_n(q1 + start, len, lq1);
    std::copy_n(q2 + start, len, lq2);
    std::copy_n(k + start, len, lk);
    rules_->dual(lq1, lq2, lk, t + start, tdot ? tdot + start : nullptr, len);
  }
}

void DualActivation::apply_diagonal(const double* q, double* t, std::size_t n) const {
  // Same code path as apply(q, q, q), so the diagonal is exactly the kernel's own diagonal
  // (its cost, O(n), is negligible next to the O(n²) off-diagonal entries).
  double lq[kChunk];
  for (std::size_t start = 0; start < n; start += kChunk) {
    const std::size_t len = std::min(kChunk, n - start);
    std::copy_n(q + start, len, lq);
    rules_->dual(lq, lq, lq, t + start, nullptr, len);
  }
}

}  // namespace ntkit
