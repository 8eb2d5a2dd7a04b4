// PointwiseActivation: the finite-width rules of an activation layer (φ, φ'), one entry at a
// time. The formulas live with their family in src/activations/ (one file per family). Scalar
// code: for the networks of mlp.hpp the matrix products dominate, not these loops.
#include "ntkit/pointwise_activation.hpp"

#include "activations/catalogue.hpp"

namespace ntkit {

PointwiseActivation::PointwiseActivation(const ActivationLayer& layer) : layer_(layer) {
  check_layer_arguments(Layer{layer});
  rules_ = activations::entry_of(layer.kind).make_rules(layer, 0);
}

double PointwiseActivation::value(double x) const { return rules_->value(x); }

double PointwiseActivation::derivative(double x) const { return rules_->derivative(x); }

void PointwiseActivation::apply(const double* x, double* f, double* df, std::size_t n) const {
  const activations::ActivationRules& rules = *rules_;
  for (std::size_t i = 0; i < n; ++i) {
    const double xi = x[i];
    if (df) df[i] = rules.derivative(xi);
    f[i] = rules.value(xi);
  }
}

}  // namespace ntkit
