// An elementwise activation layer as a value: its kind, its parameters with neural-tangents'
// names and defaults (the table the parser, the printer and the builders read), and the checks
// of their values. Everything about one activation family lives in one file of src/activations/:
// its rows of that table, φ and φ' for finite networks, the dual T and Ṫ for infinite ones (see
// pointwise_activation.hpp and dual_activation.hpp); src/activations/catalogue.cpp lists them.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace ntkit {

/// Elementwise nonlinearities. Names as in neural-tangents (stax/elementwise.py) where it has
/// the layer; Tanh, Softplus, Elu, Selu and Silu are ntkit's (neural-tangents has no such
/// layers), with jax.nn's definitions: softplus(x) = log(1 + eˣ); elu(x) = x for x > 0, else
/// alpha (eˣ − 1); selu = jax.nn.selu's fixed scale and alpha; silu(x) = x · sigmoid(x).
enum class ActivationKind {
  Relu,               // max(x, 0)
  LeakyRelu,          // alpha min(x, 0) + max(x, 0)
  ABRelu,             // a min(x, 0) + b max(x, 0)
  Abs,                // |x|
  Erf,                // a erf(b x) + c
  Sigmoid_like,       // 0.5 erf(x / 2.4020563531719796) + 0.5
  Gelu,               // x Φ(x) (approximate: tanh form, finite width only)
  Sin,                // a sin(b x + c)
  Cos,                // a cos(b x + c)
  Sign,               // sign(x)
  Rbf,                // √2 sin(√(2 gamma) x + π/4)
  Gaussian,           // a exp(b x²)
  Exp,                // a exp(b x)
  Monomial,           // x^degree
  RectifiedMonomial,  // (x ≥ 0) x^degree; degree 0 is the step function ("Step" parses to it)
  Polynomial,         // coef[0] + coef[1] x + … + coef[n] xⁿ
  Tanh,
  Softplus,
  Elu,
  Selu,
  Silu,     // a.k.a. Swish
  Hermite,  // He_degree(x) / √(degree!) (probabilists' Hermite polynomial, unit norm under N(0, 1))
};

/// The number of kinds: the last enumerator above plus one (keep it in step when adding one).
inline constexpr std::size_t kActivationKindCount = static_cast<std::size_t>(ActivationKind::Hermite) + 1;

/// The parameters an activation may have; which ones a kind has (and their defaults) is in
/// activation_info(kind).parameters, in neural-tangents' positional order.
enum class ActivationField { A, B, C, Alpha, Gamma, Degree, Coef, Approximate, DoStabilize };

/// One elementwise activation. Only the fields listed in activation_info(kind) mean anything
/// for that kind (equality and printing ignore the others); make one with the builders below
/// or make_activation(kind) so that every field holds neural-tangents' default.
struct ActivationLayer {
  ActivationKind kind = ActivationKind::Relu;
  double a = 1.0, b = 1.0, c = 0.0;  // Erf, Sin, Cos: (a, b, c); ABRelu, Gaussian, Exp: (a, b)
  double alpha = 0.0;                // LeakyRelu (required), Elu (default 1)
  double gamma = 1.0;                // Rbf
  int degree = 0;                    // Monomial, RectifiedMonomial, Hermite (required)
  std::vector<double> coef;          // Polynomial (required, non-empty)
  bool approximate = false;          // Gelu: tanh approximation (finite width only)
  bool do_stabilize = false;         // Relu, LeakyRelu, ABRelu, Abs: rescaling for depth
  friend bool operator==(const ActivationLayer&, const ActivationLayer&);
};

/// One parameter of an activation: its neural-tangents name, the field that holds it and its
/// default (std::nullopt: required). Bools default to 0/1; Coef never has a default.
struct ActivationParameter {
  const char* name;
  ActivationField field;
  std::optional<double> default_value;
};

struct ActivationInfo {
  ActivationKind kind;
  const char* name;  // neural-tangents' spelling, e.g. "Sigmoid_like"
  std::vector<ActivationParameter> parameters;
};

/// Every activation, in the order of ActivationKind.
const std::vector<ActivationInfo>& activation_table();
const ActivationInfo& activation_info(ActivationKind kind);

/// An activation of this kind with every parameter at its default (required ones at 0/empty).
ActivationLayer make_activation(ActivationKind kind);

/// Largest Monomial/RectifiedMonomial/Hermite degree and Polynomial degree (coef has at most
/// kMaxDegree + 1 entries): E[x^{2p}] = (2p − 1)!! passes 1e308 near p = 150 already at unit
/// variance, and the cost of a layer grows with the degree.
inline constexpr int kMaxDegree = 64;
std::string to_string(ActivationKind kind);  // "Relu", "Sigmoid_like", …
/// Canonical text of one activation layer ("Erf(a=2)", "Relu").
std::string to_string(const ActivationLayer& layer);

/// Throws ntkit::Error naming the activation and argument if a value is out of its domain;
/// the argument's name goes to `bad_argument` (if given) for the parser's column.
void check_activation_arguments(const ActivationLayer& layer, std::string* bad_argument = nullptr);

}  // namespace ntkit
