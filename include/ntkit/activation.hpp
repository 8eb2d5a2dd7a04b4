// The activation σ of the lecture's two-layer network (docs/mathematics.md §2): one activation
// of the general catalogue (activation_layer.hpp), so that σ and σ' are the finite networks'
// (pointwise_activation.hpp) and the infinite-width kernel is the deep engine's dual
// (dual_activation.hpp). The lecture's four names map onto the catalogue exactly:
//
//   relu              Relu          max(x, 0)
//   erf               Erf(1, 1, 0)  erf(x)
//   tanh              Tanh          tanh(x)
//   identity, linear  Monomial(1)   x
#pragma once

#include <string>
#include <string_view>

#include "ntkit/activation_layer.hpp"
#include "ntkit/types.hpp"

namespace ntkit {

class Activation {
 public:
  /// Any activation of the catalogue. Throws ntkit::Error for invalid arguments.
  explicit Activation(const ActivationLayer& layer);

  /// The lecture's four.
  static const Activation Relu, Erf, Tanh, Identity;

  const ActivationLayer& layer() const { return layer_; }
  /// "relu", "erf", "tanh", "identity" for the lecture's four; the catalogue's text otherwise
  /// (e.g. "Gelu", "Erf(a=2)").
  const char* name() const { return name_.c_str(); }

  friend bool operator==(const Activation& x, const Activation& y) { return x.layer_ == y.layer_; }

 private:
  // The lecture's four, built field by field (no call into another file during static
  // initialization).
  Activation(ActivationKind kind, int degree, const char* name);

  ActivationLayer layer_;
  std::string name_;
};

inline const Activation Activation::Relu{ActivationKind::Relu, 0, "relu"};
inline const Activation Activation::Erf{ActivationKind::Erf, 0, "erf"};  // a = 1, b = 1, c = 0
inline const Activation Activation::Tanh{ActivationKind::Tanh, 0, "tanh"};
inline const Activation Activation::Identity{ActivationKind::Monomial, 1, "identity"};

/// "relu", "erf", "tanh", "identity" (or "linear"), case-insensitive; or any activation of the
/// catalogue in network text ("Gelu", "Erf(a=2)", "LeakyRelu(0.1)"). Throws ntkit::Error
/// listing the lecture's names.
Activation parse_activation(std::string_view name);
/// activation.name().
const char* activation_name(const Activation& activation);

/// σ and σ' of every entry, in parallel over large matrices: out = σ(z), out_derivative = σ'(z).
void activate(const Activation& activation, const RowMatrixD& z, RowMatrixD& out);
void activate_derivative(const Activation& activation, const RowMatrixD& z, RowMatrixD& out);
/// Both in one pass over z.
void activate_both(const Activation& activation, const RowMatrixD& z, RowMatrixD& out, RowMatrixD& out_derivative);

}  // namespace ntkit
