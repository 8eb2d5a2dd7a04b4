// Elementwise activation functions σ and their derivatives σ', for the two-layer network of
// the lecture (SPEC §2) and, later, the deep networks.
#pragma once

#include <string>
#include <string_view>

#include "ntkit/types.hpp"

namespace ntkit {

enum class Activation { Relu, Erf, Tanh, Identity };

/// "relu", "erf", "tanh", "identity" (or "linear"); case-insensitive. Throws ntkit::Error
/// listing the valid names.
Activation parse_activation(std::string_view name);
const char* activation_name(Activation activation);

/// σ(z). ReLU: max(z, 0); Erf: erf(z); Tanh: tanh(z); Identity: z.
double activate(Activation activation, double z);
/// σ'(z). ReLU: 1 for z > 0, else 0 (the value at 0 has measure zero under Gaussian inputs).
double activate_derivative(Activation activation, double z);

/// Applies σ (and σ') to every entry, in parallel over rows: out = σ(z), out_derivative = σ'(z).
void activate(Activation activation, const RowMatrixD& z, RowMatrixD& out);
void activate_derivative(Activation activation, const RowMatrixD& z, RowMatrixD& out);

}  // namespace ntkit
