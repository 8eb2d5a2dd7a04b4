// PointwiseActivation: the finite-width rules of an activation layer (φ, φ'), one value or an
// array at a time. The formulas live with their family in src/activations/ (one file per
// family); the hot ones (Relu family, Erf, Tanh, Softplus, Silu) loop over arrays without a
// virtual call per entry (WithArrayLoop).
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
  rules_->pointwise(x, f, df, n);
}

}  // namespace ntkit
