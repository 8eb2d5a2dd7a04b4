// Classic kernels (docs/mathematics.md §1): linear, polynomial, RBF and arc-cosine kernel matrices.
//
// K(X1, X2)_ij = k(x1_i, x2_j) for X1 (n1 x d) and X2 (n2 x d), rows are examples.
//   linear       k(x, y) = x·y
//   polynomial   k(x, y) = (c + x·y)^p                   (integer degree p >= 1)
//   rbf          k(x, y) = exp(-γ ‖x - y‖²)              (γ > 0)
//   arccos       k(x, y) = (1/π) ‖x‖ⁿ ‖y‖ⁿ J_n(θ)         (order n in {0, 1, 2}; Cho & Saul 2009)
//                J_0 = π - θ,  J_1 = sin θ + (π - θ) cos θ,
//                J_2 = 3 sin θ cos θ + (π - θ)(1 + 2 cos² θ),
//                θ = atan2(√max(‖x‖²‖y‖² - (x·y)², 0), x·y)  (docs/mathematics.md §6: no arccos near ±1).
//                A zero-norm input gives 0 for n >= 1 and ½ for n = 0 (the step function's
//                value at 0 taken as ½, i.e. θ = π/2).
//
// How it is computed: one BLAS product for the Gram matrix X1·X2ᵀ (SYRK for K(X, X), which
// computes one triangle), then the per-entry map in cache-sized tiles over all cores with
// OpenMP; BLAS and OpenMP never run at the same time, so threads are not oversubscribed.
// float32 computes in float32 throughout (Gram and per-entry map).
#pragma once

#include <string>
#include <string_view>

#include "ntkit/types.hpp"

namespace ntkit {

enum class KernelKind { Linear, Polynomial, Rbf, ArcCos };

/// A classic kernel and its parameters. Unused parameters are ignored.
struct KernelSpec {
  KernelKind kind = KernelKind::Linear;
  int degree = 2;      // polynomial degree p, 1 <= p <= 64
  double c = 1.0;      // polynomial offset c (any real; the explicit feature map needs c >= 0)
  double gamma = 1.0;  // RBF width γ > 0
  int order = 1;       // arc-cosine order n in {0, 1, 2}

  /// Throws ntkit::Error naming the bad parameter and its valid range.
  void validate() const;
  /// E.g. "polynomial(degree=3, c=1)".
  std::string describe() const;
};

/// "linear", "polynomial" (or "poly"), "rbf", "arccos" (or "arc-cosine"); case-insensitive.
/// Throws ntkit::Error listing the valid names.
KernelKind parse_kernel_kind(std::string_view name);
const char* kernel_kind_name(KernelKind kind);

/// K(X1, X2), n1 x n2. Throws ntkit::Error if the column counts differ.
template <class T>
RowMatrix<T> kernel_matrix(const KernelSpec& spec, MatrixView<T> x1, MatrixView<T> x2);

/// K(X, X), n x n and exactly symmetric; only one triangle is computed.
template <class T>
RowMatrix<T> kernel_matrix(const KernelSpec& spec, MatrixView<T> x);

/// k(x, x) for every row: the diagonal of K(X, X) without the rest, length n.
template <class T>
Vector<T> kernel_diagonal(const KernelSpec& spec, MatrixView<T> x);

}  // namespace ntkit
