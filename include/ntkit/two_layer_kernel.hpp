// Infinite-width neural tangent kernel of the lecture's two-layer network (docs/mathematics.md §2).
//
//   f(x) = m^(-1/2) Σ_i b_i σ(a_i·x),   a_i ~ N(0, I_d),  b_i ~ N(0, 1),  no biases.
//
// As m → ∞ the empirical NTK, split by parameter group, converges (law of large numbers) to
//   K^a(x, x') = (x·x') E[σ'(u) σ'(v)]     (gradients with respect to the a_i)
//   K^b(x, x') = E[σ(u) σ(v)]              (gradients with respect to the b_i)
// with (u, v) ~ N(0, [[q1, k], [k, q2]]), q1 = x·x, q2 = x'·x', k = x·x'.
//
// Each entry is the deep engine's dual activation (dual_activation.hpp) of the activation
// (activation.hpp): b = T(q1, q2, k), a = k Ṫ(q1, q2, k), i.e. the lecture's network is
// Dense(m, W_std=√d) → σ → Dense(1) of the general engine (docs/mathematics.md §2, §5). So ReLU
// is the arc-cosine closed form (θ through atan2, never arccos near ±1), Erf Williams' arcsin
// form, identity (Monomial(1)) E[uv] = k, and tanh the engine's quadrature (error ≤ 3e-14 of the
// entry's scale at any ‖x‖²; or Gauss–Hermite of quadrature_degree points per axis); every
// other activation of the catalogue works too. Zero-norm inputs are legal (docs/mathematics.md
// §6): ρ = 0 by convention, every value finite.
//
// Gauss–Hermite resolves σ(√q z) only while its features (width ~1/√q in z) are wide compared
// with the node spacing near 0 (~π/√(2N)), so its error grows quickly with the squared norm
// q = ‖x‖² and is worst at ρ = ±1. Measured for Erf (which has a closed form to compare with),
// absolute error of E[σ'(u)σ'(v)] at ρ = 1:
//   q = 0.5: 1e-12 (N = 40), 6e-16 (N = 60);   q = 2: 1e-4 (N = 40), 2e-10 (N = 100);
//   q = 8:   4e-2 (N = 40), 1e-3 (N = 100), 2e-6 (N = 200).
#pragma once

#include <functional>
#include <vector>

#include "ntkit/activation.hpp"
#include "ntkit/types.hpp"

namespace ntkit {

/// The two parameter-group parts of the NTK, each n1 x n2: a = K^a, b = K^b.
struct NtkParts {
  RowMatrixD a, b;
  /// K = K^a + K^b (n1 x n2).
  RowMatrixD total() const;
};

/// A Gauss–Hermite rule for the standard normal weight:
/// E_{z~N(0,1)}[g(z)] ≈ Σ_k weights[k] g(nodes[k]), exact for polynomials of degree ≤ 2n − 1.
/// Nodes ascending and symmetric about 0; weights positive and summing to 1.
struct GaussHermite {
  std::vector<double> nodes, weights;
};

/// The n-point rule (n = degree), by Golub–Welsch: the nodes are the eigenvalues of the
/// Jacobi matrix of the probabilists' Hermite polynomials (zero diagonal, off-diagonal
/// √1, …, √(n − 1)), the weights the squared first components of its unit eigenvectors.
/// Throws ntkit::Error for degree < 1 or > 200.
GaussHermite gauss_hermite(int degree);

/// E[g(u) h(v)] for (u, v) ~ N(0, [[q1, k], [k, q2]]) by 2-D Gauss–Hermite quadrature:
/// u = √q1 z1, v = √q2 (ρ z1 + √(1 − ρ²) z2), z1, z2 ~ N(0, 1) independent, ρ = k / √(q1 q2)
/// clipped to [−1, 1] (ρ = 0 when q1 q2 = 0). Costs rule-size² evaluations of h.
/// Throws ntkit::Error if q1 or q2 is negative or a value is not finite, or the rule is empty.
double gaussian_expectation_2d(const std::function<double(double)>& g, const std::function<double(double)>& h, double q1,
                               double q2, double k, const GaussHermite& rule);

struct TwoLayerKernelOptions {
  /// For activations without a closed form (tanh): 0 (default) the dual activation's own rule,
  /// N in [1, 200] Gauss–Hermite with N points per axis instead (DualActivation's degree).
  int quadrature_degree = 0;
  /// For cross-checks: every activation, closed form or not, by the generic 2-D Gauss–Hermite
  /// rule (gaussian_expectation_2d with σ and σ') of quadrature_degree points per axis (0: 100).
  bool force_quadrature = false;
};

/// K^a(X1, X2) and K^b(X1, X2), each n1 x n2, for X1 (n1 x d) and X2 (n2 x d), rows are
/// examples. Throws ntkit::Error if the column counts differ, an input holds NaN or Inf, or
/// the quadrature degree is out of range.
NtkParts two_layer_ntk(const Activation& activation, MatrixView<double> x1, MatrixView<double> x2,
                       const TwoLayerKernelOptions& options = {});

/// K^a(X, X) and K^b(X, X), each n x n and exactly symmetric (one triangle is computed and
/// mirrored; squared norms come from the Gram diagonal, so k(x, x) sees ρ = 1 exactly).
NtkParts two_layer_ntk(const Activation& activation, MatrixView<double> x, const TwoLayerKernelOptions& options = {});

}  // namespace ntkit
