// φ and φ' for the finite networks (formulas listed in pointwise_activation.hpp). Scalar code:
// for the networks of mlp.hpp the matrix products dominate, not these loops.
#include "ntkit/pointwise_activation.hpp"

#include <cmath>
#include <numbers>

namespace ntkit {
namespace {

// jax.nn.selu's constants (the same as dual_activation.cpp's quadrature).
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;
// neural-tangents' Sigmoid_like = Erf(a=0.5, b=1/2.4020563531719796, c=0.5).
constexpr double kSigmoidLikeScale = 2.4020563531719796;
constexpr double kInvSqrtPi = std::numbers::inv_sqrtpi;
constexpr double kInvSqrt2 = 0.70710678118654752440084436210485;
// jax.nn.gelu(approximate=True): √(2/π).
constexpr double kGeluC = 0.79788456080286535587989211986876;
constexpr double kGeluCubic = 0.044715;

// xⁿ for n ≥ 0 (0⁰ = 1, as jnp.power).
double power(double x, int n) { return n == 0 ? 1.0 : std::pow(x, n); }

// Numerically safe logistic sigmoid.
double sigmoid(double x) {
  const double e = std::exp(-std::abs(x));
  return x >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}

}  // namespace

PointwiseActivation::PointwiseActivation(const ActivationLayer& layer) : layer_(layer) {
  check_layer_arguments(Layer{layer});
  a_ = layer.a;
  b_ = layer.b;
  c_ = layer.c;
  switch (layer.kind) {
    case ActivationKind::Sigmoid_like:
      a_ = 0.5, b_ = 1.0 / kSigmoidLikeScale, c_ = 0.5;
      break;
    case ActivationKind::Rbf:  // √2 sin(√(2γ) x + π/4)
      a_ = std::numbers::sqrt2, b_ = std::sqrt(2.0 * layer.gamma), c_ = 0.25 * std::numbers::pi;
      break;
    default:
      break;
  }
}

double PointwiseActivation::value(double x) const {
  const ActivationLayer& l = layer_;
  switch (l.kind) {
    case ActivationKind::Relu: return x > 0 ? x : 0.0;
    case ActivationKind::LeakyRelu: return x >= 0 ? x : l.alpha * x;
    case ActivationKind::ABRelu: return x >= 0 ? l.b * x : l.a * x;
    case ActivationKind::Abs: return std::abs(x);
    case ActivationKind::Erf:
    case ActivationKind::Sigmoid_like: return a_ * std::erf(b_ * x) + c_;
    case ActivationKind::Gelu:
      if (l.approximate) return 0.5 * x * (1.0 + std::tanh(kGeluC * (x + kGeluCubic * x * x * x)));
      return 0.5 * x * std::erfc(-x * kInvSqrt2);  // x Φ(x), accurate for x ≪ 0 too
    case ActivationKind::Sin:
    case ActivationKind::Rbf: return a_ * std::sin(b_ * x + c_);
    case ActivationKind::Cos: return a_ * std::cos(b_ * x + c_);
    case ActivationKind::Sign: return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0);
    case ActivationKind::Gaussian: return l.a * std::exp(l.b * x * x);
    case ActivationKind::Exp: return l.a * std::exp(l.b * x);
    case ActivationKind::Monomial: return power(x, l.degree);
    case ActivationKind::RectifiedMonomial: return x >= 0 ? power(x, l.degree) : 0.0;
    case ActivationKind::Polynomial: {
      double acc = 0;
      for (auto it = l.coef.rbegin(); it != l.coef.rend(); ++it) acc = acc * x + *it;
      return acc;
    }
    case ActivationKind::Tanh: return std::tanh(x);
    case ActivationKind::Softplus: return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x)));
    case ActivationKind::Elu: return x > 0 ? x : l.alpha * std::expm1(x);
    case ActivationKind::Selu: return kSeluScale * (x > 0 ? x : kSeluAlpha * std::expm1(x));
    case ActivationKind::Silu: return x * sigmoid(x);
  }
  return 0.0;
}

double PointwiseActivation::derivative(double x) const {
  const ActivationLayer& l = layer_;
  switch (l.kind) {
    case ActivationKind::Relu: return x > 0 ? 1.0 : 0.0;
    case ActivationKind::LeakyRelu: return x > 0 ? 1.0 : l.alpha;
    case ActivationKind::ABRelu: return x > 0 ? l.b : l.a;
    case ActivationKind::Abs: return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0);
    case ActivationKind::Erf:
    case ActivationKind::Sigmoid_like:
      return a_ * b_ * 2.0 * kInvSqrtPi * std::exp(-(b_ * x) * (b_ * x));
    case ActivationKind::Gelu: {
      if (l.approximate) {
        const double t = std::tanh(kGeluC * (x + kGeluCubic * x * x * x));
        return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * kGeluC * (1.0 + 3.0 * kGeluCubic * x * x);
      }
      // Φ(x) + x φ_N(x)
      return 0.5 * std::erfc(-x * kInvSqrt2) +
             x * std::exp(-0.5 * x * x) * kInvSqrt2 * kInvSqrtPi;
    }
    case ActivationKind::Sin:
    case ActivationKind::Rbf: return a_ * b_ * std::cos(b_ * x + c_);
    case ActivationKind::Cos: return -a_ * b_ * std::sin(b_ * x + c_);
    case ActivationKind::Sign: return 0.0;
    case ActivationKind::Gaussian: return 2.0 * l.a * l.b * x * std::exp(l.b * x * x);
    case ActivationKind::Exp: return l.a * l.b * std::exp(l.b * x);
    case ActivationKind::Monomial:
      return l.degree == 0 ? 0.0 : l.degree * power(x, l.degree - 1);
    case ActivationKind::RectifiedMonomial:
      return (l.degree == 0 || x < 0) ? 0.0 : l.degree * power(x, l.degree - 1);
    case ActivationKind::Polynomial: {
      double acc = 0;
      for (std::size_t i = l.coef.size(); i-- > 1;) acc = acc * x + static_cast<double>(i) * l.coef[i];
      return acc;
    }
    case ActivationKind::Tanh: {
      const double t = std::tanh(x);
      return 1.0 - t * t;
    }
    case ActivationKind::Softplus: return sigmoid(x);
    case ActivationKind::Elu: return x > 0 ? 1.0 : l.alpha * std::exp(x);
    case ActivationKind::Selu: return kSeluScale * (x > 0 ? 1.0 : kSeluAlpha * std::exp(x));
    case ActivationKind::Silu: {
      const double s = sigmoid(x);
      return s * (1.0 + x * (1.0 - s));
    }
  }
  return 0.0;
}

void PointwiseActivation::apply(const double* x, double* f, double* df, std::size_t n) const {
  for (std::size_t i = 0; i < n; ++i) {
    const double xi = x[i];
    if (df) df[i] = derivative(xi);
    f[i] = value(xi);
  }
}

}  // namespace ntkit
