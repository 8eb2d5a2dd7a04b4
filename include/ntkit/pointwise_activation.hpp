// The finite-width life of an activation layer: φ(x) and φ'(x) entry by entry, for every
// ActivationKind of network.hpp, with neural-tangents' finite-network definitions (the apply_fn
// of stax/elementwise.py; jax.nn's for Tanh, Softplus, Elu, Selu, Silu).
//
//   Relu max(x, 0)            LeakyRelu x ≥ 0 ? x : αx      ABRelu a min(x, 0) + b max(x, 0)
//   Abs |x|                   Erf a erf(bx) + c             Sigmoid_like Erf(½, 1/2.40205…, ½)
//   Gelu x Φ(x), or with approximate=True ½x(1 + tanh(√(2/π)(x + 0.044715x³)))
//   Sin a sin(bx + c)         Cos a cos(bx + c)             Sign sign(x) (0 at 0)
//   Rbf √2 sin(√(2γ)x + π/4)  Gaussian a e^{bx²}             Exp a e^{bx}
//   Monomial xⁿ               RectifiedMonomial [x ≥ 0] xⁿ  Polynomial Σ coef_i xⁱ
//   Tanh, Softplus log(1 + eˣ), Elu x > 0 ? x : α(eˣ − 1), Selu (jax.nn's constants), Silu xσ(x)
//   Hermite He_n(x)/√(n!)
//
// Each family's φ and φ' are in its file of src/activations/.
//
// Derivatives at kinks (measure zero under Gaussian pre-activations) take the right-hand
// value for x > 0 and the left-hand one otherwise, e.g. Relu'(0) = 0, Abs'(0) = 0; Sign and
// Step have φ' = 0, as in neural-tangents.
#pragma once

#include <cstddef>
#include <memory>

#include "ntkit/network.hpp"

namespace ntkit {

namespace activations {
class ActivationRules;  // src/activations/activation_rules.hpp
}

class PointwiseActivation {
 public:
  /// Throws ntkit::Error for invalid arguments (check_layer_arguments).
  explicit PointwiseActivation(const ActivationLayer& layer);

  const ActivationLayer& layer() const { return layer_; }

  /// φ(x) of one value.
  double value(double x) const;
  /// φ'(x) of one value.
  double derivative(double x) const;

  /// f[i] = φ(x[i]) unless f is null, and df[i] = φ'(x[i]) unless df is null, for i < n. f and
  /// df may alias x (each entry is read before it is written).
  void apply(const double* x, double* f, double* df, std::size_t n) const;

 private:
  ActivationLayer layer_;
  // The family's rules (immutable, so copies of this object share them).
  std::shared_ptr<const activations::ActivationRules> rules_;
};

}  // namespace ntkit
