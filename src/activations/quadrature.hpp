// Quadrature shared by the activations without a closed-form dual (smooth_quadrature.cpp,
// kinked_quadrature.cpp): Gauss–Legendre rules on [0, 1], and the fixed Gauss–Hermite product
// rule that a quadrature_degree ≠ 0 asks for.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numbers>
#include <vector>

#include "activations/pair_geometry.hpp"
#include "ntkit/two_layer_kernel.hpp"

namespace ntkit::activations {

// Gauss–Legendre nodes on [0, 1] by Newton's method on the three-term recurrence, in long
// double so the rounded nodes and weights are correct to the last bit of a double.
template <std::size_t N>
struct LegendreRule {
  double nodes[N], weights[N];
};

template <std::size_t N>
LegendreRule<N> make_legendre_rule() {
  LegendreRule<N> rule{};
  const int n = static_cast<int>(N);
  for (int i = 0; i < n; ++i) {
    long double x = std::cos(std::numbers::pi_v<long double> * (i + 0.75L) / (n + 0.5L)), dp = 1;
    for (int iter = 0; iter < 100; ++iter) {
      long double p0 = 1, p1 = x;
      for (int j = 2; j <= n; ++j) {
        const long double p2 = ((2 * j - 1) * x * p1 - (j - 1) * p0) / j;
        p0 = p1;
        p1 = p2;
      }
      dp = n * (x * p1 - p0) / (x * x - 1);
      const long double step = p1 / dp;
      x -= step;
      if (std::abs(step) < 1e-19L) break;
    }
    rule.nodes[i] = static_cast<double>((1 - x) / 2);                    // mapped from [−1, 1] to [0, 1]
    rule.weights[i] = static_cast<double>(1 / ((1 - x * x) * dp * dp));  // 2/((1−x²)P'²) · ½
  }
  return rule;
}

template <std::size_t N>
const LegendreRule<N>& legendre_rule() {
  static const LegendreRule<N> rule = make_legendre_rule<N>();
  return rule;
}

// E[φ(u)φ(v)] and (if tdot) E[φ'(u)φ'(v)] by the product of the standard-normal Gauss–Hermite
// `rule` with itself (neural-tangents' ElementwiseNumerical; N² evaluations per entry), for
// n ≤ kChunk entries. u = √q_p z_a, v = √q_o (ρ z_a + sn z_b), where p is the point with the
// larger q: swapping q1 and q2 then runs the very same arithmetic, so T is exactly symmetric.
// activate(x, f, df, m, scratch) writes f = φ(x) and, unless df is null, df = φ'(x) for m
// entries, using `scratch` (m entries).
template <class Activate>
void gauss_hermite_dual(const Activate& activate, const GaussHermite& rule, const double* q1, const double* q2,
                        const double* k, double* t, double* tdot, std::size_t n) {
  const std::size_t nq = rule.nodes.size();
  const double* z = rule.nodes.data();
  const double* w = rule.weights.data();
  std::vector<double> v(nq * nq), f(nq * nq), e(nq * nq), df(tdot ? nq * nq : 0);
  std::vector<double> u(nq), fu(nq), dfu(nq);
  Geometry g;
  geometry(q1, q2, k, n, g);
  for (std::size_t i = 0; i < n; ++i) {
    const double a1 = q1[i], a2 = q2[i];
    const double sp = std::sqrt(std::max(a1, a2)), so = std::sqrt(std::min(a1, a2));
    const double cu = so * g.rho[i], cs = so * g.sn[i];
    for (std::size_t a = 0; a < nq; ++a) u[a] = sp * z[a];
    activate(u.data(), fu.data(), tdot ? dfu.data() : nullptr, nq, e.data());
    for (std::size_t a = 0; a < nq; ++a) {
      const double base = cu * z[a];
#pragma omp simd
      for (std::size_t b = 0; b < nq; ++b) v[a * nq + b] = base + cs * z[b];
    }
    activate(v.data(), f.data(), tdot ? df.data() : nullptr, nq * nq, e.data());
    double sum = 0, sum_dot = 0;
    for (std::size_t a = 0; a < nq; ++a) {
      const double* fa = f.data() + a * nq;
      double inner = 0;
#pragma omp simd reduction(+ : inner)
      for (std::size_t b = 0; b < nq; ++b) inner += w[b] * fa[b];
      sum += w[a] * fu[a] * inner;
      if (tdot) {
        const double* da = df.data() + a * nq;
        double inner_dot = 0;
#pragma omp simd reduction(+ : inner_dot)
        for (std::size_t b = 0; b < nq; ++b) inner_dot += w[b] * da[b];
        sum_dot += w[a] * dfu[a] * inner_dot;
      }
    }
    t[i] = sum;
    if (tdot) tdot[i] = sum_dot;
  }
}

}  // namespace ntkit::activations
