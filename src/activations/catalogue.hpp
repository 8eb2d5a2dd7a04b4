// The activation catalogue: for every ActivationKind, its row of the parameter table, its extra
// argument checks and the factory of its rules (activation_rules.hpp). Each family file of this
// folder defines the entries of its activations; catalogue.cpp maps a kind to its entry.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "activations/activation_rules.hpp"
#include "ntkit/activation_layer.hpp"

namespace ntkit::activations {

struct ActivationEntry {
  // Its row of activation_table(): name, parameters, defaults (neural-tangents' signature).
  ActivationInfo info;
  // Checks beyond the table's generic ones (finite numbers, degree range, coef list), e.g.
  // Rbf's gamma ≥ 0; nullptr: none. Reports like check_activation_arguments.
  void (*check_arguments)(const ActivationLayer& layer, std::string* bad_argument);
  // The rules of a layer of this kind, whose arguments are already checked. quadrature_degree
  // as DualActivation's (0 for PointwiseActivation); only the quadrature families read it.
  std::unique_ptr<const ActivationRules> (*make_rules)(const ActivationLayer& layer, int quadrature_degree);
};

// A parameter without a default (the parser asks for it).
inline constexpr std::optional<double> kRequired = std::nullopt;

// make_rules for the rules that need only the layer (all but the quadrature families).
template <class Rules>
std::unique_ptr<const ActivationRules> make_rules_of(const ActivationLayer& layer, int /*quadrature_degree*/) {
  return std::make_unique<const Rules>(layer);
}

// The entry of one kind (catalogue.cpp: one exhaustive switch).
const ActivationEntry& entry_of(ActivationKind kind);

// Every entry, defined in its family's file.
// relu_family.cpp
const ActivationEntry& relu_entry();
const ActivationEntry& leaky_relu_entry();
const ActivationEntry& ab_relu_entry();
const ActivationEntry& abs_entry();
// sign.cpp
const ActivationEntry& sign_entry();
// rectified_monomial.cpp
const ActivationEntry& rectified_monomial_entry();
// erf.cpp
const ActivationEntry& erf_entry();
const ActivationEntry& sigmoid_like_entry();
// gelu.cpp
const ActivationEntry& gelu_entry();
// sinusoid.cpp
const ActivationEntry& sin_entry();
const ActivationEntry& cos_entry();
const ActivationEntry& rbf_entry();
// exp.cpp
const ActivationEntry& exp_entry();
// gaussian.cpp
const ActivationEntry& gaussian_entry();
// polynomial.cpp
const ActivationEntry& monomial_entry();
const ActivationEntry& polynomial_entry();
// hermite.cpp
const ActivationEntry& hermite_entry();
// smooth_quadrature.cpp
const ActivationEntry& tanh_entry();
const ActivationEntry& softplus_entry();
const ActivationEntry& silu_entry();
// kinked_quadrature.cpp
const ActivationEntry& elu_entry();
const ActivationEntry& selu_entry();

}  // namespace ntkit::activations
