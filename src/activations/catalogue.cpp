// The activation catalogue. Adding an activation = one file here (its table row, φ and φ', T and
// Ṫ; see activation_rules.hpp and catalogue.hpp) + one line in the enum ActivationKind
// (include/ntkit/activation_layer.hpp; at its end, with kActivationKindCount below it naming the
// new last kind) + its case in the list below.
#include <stdexcept>

#include "activations/catalogue.hpp"

// A kind without a case must not compile, whatever the build's warning flags.
#pragma GCC diagnostic error "-Wswitch"

namespace ntkit::activations {

const ActivationEntry& entry_of(ActivationKind kind) {
  using K = ActivationKind;
  switch (kind) {
    case K::Relu: return relu_entry();
    case K::LeakyRelu: return leaky_relu_entry();
    case K::ABRelu: return ab_relu_entry();
    case K::Abs: return abs_entry();
    case K::Erf: return erf_entry();
    case K::Sigmoid_like: return sigmoid_like_entry();
    case K::Gelu: return gelu_entry();
    case K::Sin: return sin_entry();
    case K::Cos: return cos_entry();
    case K::Sign: return sign_entry();
    case K::Rbf: return rbf_entry();
    case K::Gaussian: return gaussian_entry();
    case K::Exp: return exp_entry();
    case K::Monomial: return monomial_entry();
    case K::RectifiedMonomial: return rectified_monomial_entry();
    case K::Polynomial: return polynomial_entry();
    case K::Tanh: return tanh_entry();
    case K::Softplus: return softplus_entry();
    case K::Elu: return elu_entry();
    case K::Selu: return selu_entry();
    case K::Silu: return silu_entry();
    case K::Hermite: return hermite_entry();
  }
  // Only a value cast from an integer outside the enum gets here.
  throw std::invalid_argument("not an ActivationKind: " + std::to_string(static_cast<int>(kind)));
}

}  // namespace ntkit::activations
