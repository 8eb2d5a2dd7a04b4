// The exact dual of a polynomial φ by its Hermite expansion (docs/mathematics.md §5), shared by
// the Polynomial family (polynomial.cpp, which builds it from monomial coefficients) and Hermite
// (hermite.cpp, which writes its own expansion down directly).
#pragma once

#include <cstddef>
#include <vector>

namespace ntkit::activations {

// T = Σ_m P_m(q1) P_m(q2) kᵐ with P_m(q) = Σ_j rows[m][j] (q − shift)ʲ, and Ṫ = ∂T/∂k
// (Price's theorem) = Σ_m m P_m(q1) P_m(q2) k^{m−1}.
struct HermiteExpansion {
  std::vector<std::vector<double>> rows;
  double shift = 0;
};

// The expansion of Σ_i coef[i] xⁱ, in powers of q (shift 0).
HermiteExpansion polynomial_expansion(const std::vector<double>& coef);

// T and (unless tdot is null) Ṫ of the expansion for n ≤ kChunk entries.
void expansion_dual(const HermiteExpansion& expansion, const double* q1, const double* q2, const double* k, double* t,
                    double* tdot, std::size_t n);

}  // namespace ntkit::activations
