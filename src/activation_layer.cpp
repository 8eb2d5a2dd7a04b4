// The activation layer as a value: neural-tangents' parameter table (collected from the family
// files of src/activations/), printing, equality, argument checks and the builders (Relu(),
// Erf(a, b, c), …).
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include "activations/catalogue.hpp"
#include "layer_text.hpp"
#include "ntkit/error.hpp"
#include "ntkit/network.hpp"

namespace ntkit {
namespace {

using detail::bad_argument;
using detail::format_list;
using detail::format_number;
using detail::join_arguments;
using F = ActivationField;
// Scalar fields as doubles, so that one table drives defaults, equality and printing.
double scalar_field(const ActivationLayer& layer, ActivationField field) {
  switch (field) {
    case F::A: return layer.a;
    case F::B: return layer.b;
    case F::C: return layer.c;
    case F::Alpha: return layer.alpha;
    case F::Gamma: return layer.gamma;
    case F::Degree: return layer.degree;
    case F::Approximate: return layer.approximate ? 1.0 : 0.0;
    case F::DoStabilize: return layer.do_stabilize ? 1.0 : 0.0;
    case F::Coef: break;
  }
  return 0.0;
}

void set_scalar_field(ActivationLayer& layer, ActivationField field, double value) {
  switch (field) {
    case F::A: layer.a = value; break;
    case F::B: layer.b = value; break;
    case F::C: layer.c = value; break;
    case F::Alpha: layer.alpha = value; break;
    case F::Gamma: layer.gamma = value; break;
    case F::Degree: layer.degree = static_cast<int>(value); break;
    case F::Approximate: layer.approximate = value != 0.0; break;
    case F::DoStabilize: layer.do_stabilize = value != 0.0; break;
    case F::Coef: break;
  }
}

bool is_bool_field(ActivationField field) { return field == F::Approximate || field == F::DoStabilize; }

}  // namespace

std::string to_string(const ActivationLayer& layer) {
  const ActivationInfo& info = activation_info(layer.kind);
  std::vector<std::string> arguments;
  for (const ActivationParameter& parameter : info.parameters) {
    const std::string key = std::string(parameter.name) + "=";
    if (parameter.field == F::Coef) {
      arguments.push_back(key + format_list(layer.coef));
      continue;
    }
    const double value = scalar_field(layer, parameter.field);
    if (parameter.default_value && *parameter.default_value == value) continue;
    if (is_bool_field(parameter.field)) {
      arguments.push_back(key + (value != 0.0 ? "True" : "False"));
    } else if (parameter.field == F::Degree) {
      arguments.push_back(key + std::to_string(layer.degree));
    } else {
      arguments.push_back(key + format_number(value));
    }
  }
  return join_arguments(info.name, arguments);
}

void check_activation_arguments(const ActivationLayer& layer, std::string* bad) {
  const ActivationInfo& info = activation_info(layer.kind);
  for (const ActivationParameter& parameter : info.parameters) {
    if (parameter.field == F::Coef) {
      if (layer.coef.empty()) {
        bad_argument(info.name, "coef", "a non-empty list of numbers, e.g. coef=[0, 1, 0.5]", "[]", bad);
      }
      if (layer.coef.size() > static_cast<std::size_t>(kMaxDegree) + 1) {
        bad_argument(
            info.name, "coef",
            "at most " + std::to_string(kMaxDegree + 1) + " coefficients (degree ≤ " + std::to_string(kMaxDegree) + ")",
            std::to_string(layer.coef.size()) + " coefficients", bad);
      }
      for (double value : layer.coef) {
        if (!std::isfinite(value)) {
          bad_argument(info.name, "coef", "a list of finite numbers", format_list(layer.coef), bad);
        }
      }
    } else if (parameter.field == F::Degree) {
      if (layer.degree < 0 || layer.degree > kMaxDegree) {
        bad_argument(info.name, "degree",
                     "an integer from 0 to " + std::to_string(kMaxDegree) +
                         " (higher powers overflow double precision at unit variance)",
                     std::to_string(layer.degree), bad);
      }
    } else if (!is_bool_field(parameter.field)) {
      const double value = scalar_field(layer, parameter.field);
      if (!std::isfinite(value)) {
        bad_argument(info.name, parameter.name, "a finite number", format_number(value), bad);
      }
    }
  }
  // The family's own checks (e.g. Rbf's gamma ≥ 0).
  if (const auto check = activations::entry_of(layer.kind).check_arguments) check(layer, bad);
}

const std::vector<ActivationInfo>& activation_table() {
  static const std::vector<ActivationInfo> table = [] {
    std::vector<ActivationInfo> rows;
    for (std::size_t i = 0; i < kActivationKindCount; ++i) {
      const auto kind = static_cast<ActivationKind>(i);
      rows.push_back(activations::entry_of(kind).info);
      if (rows.back().kind != kind) {
        throw std::logic_error(std::string("the catalogue's row for kind ") + std::to_string(i) + " is " + rows.back().name);
      }
    }
    return rows;
  }();
  return table;
}

const ActivationInfo& activation_info(ActivationKind kind) { return activation_table().at(static_cast<std::size_t>(kind)); }

ActivationLayer make_activation(ActivationKind kind) {
  ActivationLayer layer;
  layer.kind = kind;
  for (const ActivationParameter& parameter : activation_info(kind).parameters) {
    if (parameter.field == F::Coef) continue;
    set_scalar_field(layer, parameter.field, parameter.default_value.value_or(0.0));
  }
  return layer;
}

bool operator==(const ActivationLayer& x, const ActivationLayer& y) {
  if (x.kind != y.kind) return false;
  for (const ActivationParameter& parameter : activation_info(x.kind).parameters) {
    if (parameter.field == F::Coef) {
      if (x.coef != y.coef) return false;
    } else if (scalar_field(x, parameter.field) != scalar_field(y, parameter.field)) {
      return false;
    }
  }
  return true;
}

std::string to_string(ActivationKind kind) { return activation_info(kind).name; }

namespace {
Layer activation(ActivationKind kind, std::initializer_list<std::pair<F, double>> values) {
  ActivationLayer layer = make_activation(kind);
  for (const auto& [field, value] : values) set_scalar_field(layer, field, value);
  return detail::checked_layer(layer);
}
}  // namespace

Layer Relu(bool do_stabilize) { return activation(ActivationKind::Relu, {{F::DoStabilize, do_stabilize}}); }
Layer LeakyRelu(double alpha, bool do_stabilize) {
  return activation(ActivationKind::LeakyRelu, {{F::Alpha, alpha}, {F::DoStabilize, do_stabilize}});
}
Layer ABRelu(double a, double b, bool do_stabilize) {
  return activation(ActivationKind::ABRelu, {{F::A, a}, {F::B, b}, {F::DoStabilize, do_stabilize}});
}
Layer Abs(bool do_stabilize) { return activation(ActivationKind::Abs, {{F::DoStabilize, do_stabilize}}); }
Layer Erf(double a, double b, double c) { return activation(ActivationKind::Erf, {{F::A, a}, {F::B, b}, {F::C, c}}); }
Layer Sigmoid_like() { return activation(ActivationKind::Sigmoid_like, {}); }
Layer Gelu(bool approximate) { return activation(ActivationKind::Gelu, {{F::Approximate, approximate}}); }
Layer Sin(double a, double b, double c) { return activation(ActivationKind::Sin, {{F::A, a}, {F::B, b}, {F::C, c}}); }
Layer Cos(double a, double b, double c) { return activation(ActivationKind::Cos, {{F::A, a}, {F::B, b}, {F::C, c}}); }
Layer Sign() { return activation(ActivationKind::Sign, {}); }
Layer Step() { return RectifiedMonomial(0); }
Layer Rbf(double gamma) { return activation(ActivationKind::Rbf, {{F::Gamma, gamma}}); }
Layer Gaussian(double a, double b) { return activation(ActivationKind::Gaussian, {{F::A, a}, {F::B, b}}); }
Layer Exp(double a, double b) { return activation(ActivationKind::Exp, {{F::A, a}, {F::B, b}}); }
Layer Monomial(int degree) {
  ActivationLayer layer = make_activation(ActivationKind::Monomial);
  layer.degree = degree;
  return detail::checked_layer(layer);
}
Layer RectifiedMonomial(int degree) {
  ActivationLayer layer = make_activation(ActivationKind::RectifiedMonomial);
  layer.degree = degree;
  return detail::checked_layer(layer);
}
Layer Polynomial(std::vector<double> coef) {
  ActivationLayer layer = make_activation(ActivationKind::Polynomial);
  layer.coef = std::move(coef);
  return detail::checked_layer(layer);
}
Layer Tanh() { return activation(ActivationKind::Tanh, {}); }
Layer Softplus() { return activation(ActivationKind::Softplus, {}); }
Layer Elu(double alpha) { return activation(ActivationKind::Elu, {{F::Alpha, alpha}}); }
Layer Selu() { return activation(ActivationKind::Selu, {}); }
Layer Silu() { return activation(ActivationKind::Silu, {}); }
Layer Hermite(int degree) {
  ActivationLayer layer = make_activation(ActivationKind::Hermite);
  layer.degree = degree;
  return detail::checked_layer(layer);
}

}  // namespace ntkit
