#include "ntkit/activation.hpp"

#include <cctype>
#include <cmath>
#include <numbers>

#include "ntkit/error.hpp"

namespace ntkit {

Activation parse_activation(std::string_view name) {
  std::string n(name);
  for (char& ch : n) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (n == "relu") return Activation::Relu;
  if (n == "erf") return Activation::Erf;
  if (n == "tanh") return Activation::Tanh;
  if (n == "identity" || n == "linear") return Activation::Identity;
  throw Error("unknown activation '" + std::string(name) + "'; choose one of: relu, erf, tanh, identity");
}

const char* activation_name(Activation activation) {
  switch (activation) {
    case Activation::Relu: return "relu";
    case Activation::Erf: return "erf";
    case Activation::Tanh: return "tanh";
    case Activation::Identity: return "identity";
  }
  return "?";
}

double activate(Activation activation, double z) {
  switch (activation) {
    case Activation::Relu: return z > 0 ? z : 0.0;
    case Activation::Erf: return std::erf(z);
    case Activation::Tanh: return std::tanh(z);
    case Activation::Identity: return z;
  }
  return z;
}

double activate_derivative(Activation activation, double z) {
  switch (activation) {
    case Activation::Relu: return z > 0 ? 1.0 : 0.0;
    case Activation::Erf: return 2.0 * std::numbers::inv_sqrtpi * std::exp(-z * z);
    case Activation::Tanh: {
      const double t = std::tanh(z);
      return 1.0 - t * t;
    }
    case Activation::Identity: return 1.0;
  }
  return 1.0;
}

namespace {

template <class F>
void map_matrix(const RowMatrixD& z, RowMatrixD& out, F f) {
  out.resize(z.rows(), z.cols());
  const Eigen::Index n = z.size();
  const double* in = z.data();
  double* o = out.data();
#pragma omp parallel for schedule(static) if (n > 65536)
  for (Eigen::Index i = 0; i < n; ++i) o[i] = f(in[i]);
}

}  // namespace

// The switch is outside the loops so that each loop body is one simple function of v, which
// the compiler can vectorize (ReLU, identity) or at least inline.
void activate(Activation activation, const RowMatrixD& z, RowMatrixD& out) {
  switch (activation) {
    case Activation::Relu: return map_matrix(z, out, [](double v) { return v > 0 ? v : 0.0; });
    case Activation::Erf: return map_matrix(z, out, [](double v) { return std::erf(v); });
    case Activation::Tanh: return map_matrix(z, out, [](double v) { return std::tanh(v); });
    case Activation::Identity: return map_matrix(z, out, [](double v) { return v; });
  }
}

void activate_derivative(Activation activation, const RowMatrixD& z, RowMatrixD& out) {
  switch (activation) {
    case Activation::Relu: return map_matrix(z, out, [](double v) { return v > 0 ? 1.0 : 0.0; });
    case Activation::Erf:
      return map_matrix(z, out, [](double v) { return 2.0 * std::numbers::inv_sqrtpi * std::exp(-v * v); });
    case Activation::Tanh:
      return map_matrix(z, out, [](double v) {
        const double t = std::tanh(v);
        return 1.0 - t * t;
      });
    case Activation::Identity: return map_matrix(z, out, [](double) { return 1.0; });
  }
}

}  // namespace ntkit
