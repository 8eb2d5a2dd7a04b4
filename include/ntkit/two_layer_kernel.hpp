// Infinite-width neural tangent kernel of the lecture's two-layer network (SPEC §2).
//
//   f(x) = m^(-1/2) Σ_i b_i σ(a_i·x),   a_i ~ N(0, I_d),  b_i ~ N(0, 1),  no biases.
//
// As m → ∞ the empirical NTK, split by parameter group, converges (law of large numbers) to
//   K^a(x, x') = (x·x') E[σ'(u) σ'(v)]     (gradients with respect to the a_i)
//   K^b(x, x') = E[σ(u) σ(v)]              (gradients with respect to the b_i)
// with (u, v) ~ N(0, [[q1, k], [k, q2]]), q1 = x·x, q2 = x'·x', k = x·x'.
//
// Closed forms (SPEC §2, §5), with r = √(q1 q2), ρ = k / r clipped to [−1, 1],
// θ = atan2(√((1 − ρ)(1 + ρ)), ρ) (SPEC §6: never arccos near ±1):
//   ReLU      E[σσ] = r (sin θ + (π − θ) cos θ) / (2π),   E[σ'σ'] = (π − θ) / (2π)
//   Erf       E[σσ] = (2/π) arcsin(2k / √((1 + 2q1)(1 + 2q2))),
//             E[σ'σ'] = (4/π) / √((1 + 2q1)(1 + 2q2) − 4k²)        (Williams 1997)
//   Identity  E[σσ] = k,  E[σ'σ'] = 1
//   Tanh      no closed form: two-dimensional quadrature, see gaussian_expectation_2d.
//
// Which quadrature rule. Gauss–Hermite resolves σ(√q z) only while its features (width
// ~1/√q in z) are wide compared with the node spacing near 0 (~π/√(2N)), so its error grows
// quickly with the squared norm q = ‖x‖² and is worst at ρ = ±1. Measured for Erf (which has
// a closed form to compare with), absolute error of E[σ'(u)σ'(v)] at ρ = 1:
//   q = 0.5: 1e-12 (N = 40), 6e-16 (N = 60);   q = 2: 1e-4 (N = 40), 2e-10 (N = 100);
//   q = 8:   4e-2 (N = 40), 1e-3 (N = 100), 2e-6 (N = 200).
// So by default (quadrature_degree = 0) the rule is instead the trapezoid rule on a uniform
// grid z ∈ [−9, 9] with step h = min(0.25, π / (12 √q_max)), q_max the largest ‖x‖² of the
// inputs: for an integrand analytic in a strip of half-width d around the real axis the
// trapezoid rule's error falls like exp(−2πd/h), and tanh(√q z) has its poles at
// d = π / (2√q), so this h gives exp(−2πd/h) = exp(−12π) ≈ 4e-17 per unit of integrand. Its cost
// grows like √q_max (≈ 46√q nodes per axis), not like q. Measured against the same rule at a
// 4x finer step, tanh at q = 14, 30, 40 and ρ from −0.5 to 1: relative error ≤ 1e-12.
// Zero-norm inputs are legal (SPEC §6): u ≡ 0 then, every value is finite, and because
// σ(0) = 0 and k = 0 for all four activations, K^a = K^b = 0 for such a point.
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

/// A rule of the same form (Σ w_k = 1) for E_{z~N(0,1)}: the trapezoid rule on z ∈ [−9, 9]
/// with step min(0.25, π / (12 √max_q)), accurate to ~1e-12 for tanh(√q z) with q <= max_q.
/// Throws ntkit::Error if max_q is negative or not finite, or needs more than 20001 nodes.
GaussHermite gaussian_trapezoid_rule(double max_q);

/// E[g(u) h(v)] for (u, v) ~ N(0, [[q1, k], [k, q2]]) by 2-D Gauss–Hermite quadrature:
/// u = √q1 z1, v = √q2 (ρ z1 + √(1 − ρ²) z2), z1, z2 ~ N(0, 1) independent, ρ = k / √(q1 q2)
/// clipped to [−1, 1] (ρ = 0 when q1 q2 = 0). Costs rule-size² evaluations of h.
/// Throws ntkit::Error if q1 or q2 is negative or a value is not finite, or the rule is empty.
double gaussian_expectation_2d(const std::function<double(double)>& g,
                               const std::function<double(double)>& h, double q1, double q2,
                               double k, const GaussHermite& rule);

struct TwoLayerKernelOptions {
  /// 0 (default): the automatic trapezoid rule described above. N in [1, 200]: Gauss–Hermite
  /// with N points per axis instead.
  int quadrature_degree = 0;
  /// Use quadrature even where a closed form exists (ReLU, Erf, Identity), for cross-checks.
  bool force_quadrature = false;
};

/// K^a(X1, X2) and K^b(X1, X2), each n1 x n2, for X1 (n1 x d) and X2 (n2 x d), rows are
/// examples. Throws ntkit::Error if the column counts differ, an input holds NaN or Inf, or
/// the quadrature degree is out of range.
NtkParts two_layer_ntk(Activation activation, MatrixView<double> x1, MatrixView<double> x2,
                       const TwoLayerKernelOptions& options = {});

/// K^a(X, X) and K^b(X, X), each n x n and exactly symmetric (one triangle is computed and
/// mirrored; squared norms come from the Gram diagonal, so k(x, x) sees ρ = 1 exactly).
NtkParts two_layer_ntk(Activation activation, MatrixView<double> x,
                       const TwoLayerKernelOptions& options = {});

}  // namespace ntkit
