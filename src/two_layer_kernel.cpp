#include "ntkit/two_layer_kernel.hpp"

#include <omp.h>

#include "ntkit/eigen.hpp"  // first: silences a GCC 12 false positive in AVX-512 intrinsics
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <numbers>
#include <sstream>
#include <string>

#include "blas.hpp"
#include "input_checks.hpp"
#include "ntkit/error.hpp"
#include "parallel_errors.hpp"
#include "vector_math.hpp"

namespace ntkit {
namespace {

using Index = Eigen::Index;
constexpr double kPi = std::numbers::pi;
constexpr int kMaxDegree = 200;

// Below this many elementary operations a kernel matrix is computed on one thread: starting
// a parallel region costs more than it saves.
constexpr double kParallelWork = 32768;

// ---- Pair geometry ------------------------------------------------------------------------

// r = √(q1 q2), ρ = k / r clipped to [−1, 1] and sin θ = √((1 − ρ)(1 + ρ)) for one pair.
// Why this form: (1 − ρ)(1 + ρ) is exact-ish near |ρ| = 1 (1 − ρ is exact there), whereas
// q1 q2 − k² cancels catastrophically and, with fused multiply-adds, is a rounding residue
// instead of 0 for duplicates. √(fl(q·q)) = q exactly, so k(x, x) in the symmetric route
// sees ρ = 1 and θ = 0 exactly. A zero-norm point gets ρ = 0 (θ = π/2): every formula below
// then multiplies by r = 0 or k = 0, so the convention only has to be finite.
struct Geometry {
  double r, rho, sin_theta;
};

inline Geometry pair_geometry(double q1, double q2, double k) {
  const double r2 = q1 * q2;
  // Tiny or huge norms: q1 q2 would underflow or overflow where √q1 √q2 does not.
  const double r = (r2 >= DBL_MIN && r2 <= DBL_MAX) ? std::sqrt(r2) : std::sqrt(q1) * std::sqrt(q2);
  if (!(r > 0)) return {0.0, 0.0, 1.0};
  const double rho = std::clamp(k / r, -1.0, 1.0);
  return {r, rho, std::sqrt((1.0 - rho) * (1.0 + rho))};
}

// ---- Validation (always before any OpenMP region: nothing throws inside one) ---------------


void require_degree(int degree, const char* where) {
  if (degree < 0 || degree > kMaxDegree) {
    std::ostringstream msg;
    msg << where << ": the Gauss-Hermite degree must be in [1, " << kMaxDegree
        << "] (or 0 for the automatic trapezoid rule), got " << degree;
    throw Error(msg.str());
  }
}

void require_finite_norms(const VectorD& q, const char* name) {
  for (Index i = 0; i < q.size(); ++i)
    if (!std::isfinite(q[i])) {
      std::ostringstream msg;
      msg << "two_layer_ntk: the squared norm of row " << i << " of " << name
          << " overflows double precision; rescale the inputs";
      throw Error(msg.str());
    }
}

// ---- Activation over arrays ---------------------------------------------------------------

// s[i] = σ(v[i]), ds[i] = σ'(v[i]) for i < n. Tanh, the only activation that reaches this in
// production, evaluates tanh through one vectorized exp: with E = exp(−2|v|) ∈ (0, 1],
// tanh v = sign(v)(1 − E)/(1 + E) and 1 − tanh² v = 4E/(1 + E)², neither of which overflows.
// (1 − E loses relative accuracy for |v| ≲ 1e-8, but only ~1e-16 in absolute terms, which
// is what an expectation sees.) The other activations are for cross-checks and use the
// library's scalar σ and σ'.
void activate_arrays(Activation activation, const double* v, double* s, double* ds, std::size_t n) {
  if (activation == Activation::Tanh) {
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) ds[i] = -2.0 * std::abs(v[i]);
    detail::exp_array(ds, ds, n);
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) {
      const double e = ds[i], inv = 1.0 / (1.0 + e);
      s[i] = std::copysign((1.0 - e) * inv, v[i]);
      ds[i] = 4.0 * e * inv * inv;
    }
    return;
  }
  for (std::size_t i = 0; i < n; ++i) {
    s[i] = activate(activation, v[i]);
    ds[i] = activate_derivative(activation, v[i]);
  }
}

// ---- Quadrature ---------------------------------------------------------------------------

// Per-point tables of the quadrature route: what depends on one point only. Row i holds
// w_a σ(√q_i z_a) and w_a σ'(√q_i z_a), so a pair costs only the v-dependent evaluations.
struct PointTables {
  VectorD sqrt_q;
  RowMatrixD sigma_w, dsigma_w;  // n x N
};

PointTables make_tables(Activation activation, const VectorD& q, const GaussHermite& rule) {
  const Index n = q.size(), nq = static_cast<Index>(rule.nodes.size());
  PointTables t{q.cwiseSqrt(), RowMatrixD(n, nq), RowMatrixD(n, nq)};
  for (Index i = 0; i < n; ++i)
    for (Index a = 0; a < nq; ++a) {
      const double u = t.sqrt_q[i] * rule.nodes[static_cast<std::size_t>(a)];
      const double w = rule.weights[static_cast<std::size_t>(a)];
      t.sigma_w(i, a) = w * activate(activation, u);
      t.dsigma_w(i, a) = w * activate_derivative(activation, u);
    }
  return t;
}

// Scratch space of one thread: N² arguments and values for the quadrature route, or one row
// of geometry for the closed forms.
struct Workspace {
  std::vector<double> v, s, ds;
  std::vector<double> r, rho, sn, theta;
};

// E[σ(u)σ(v)] and E[σ'(u)σ'(v)] for one pair, with u on point p's table and v = √q_o (ρ z1 +
// sin θ z2) evaluated here. Callers pass the point with the larger q as p: K(x, x') and
// K(x', x) then run the very same arithmetic (equal q's give equal results either way), so
// the general and the symmetric routes agree and K(X, X) comes out symmetric.
void quadrature_pair(Activation activation, const GaussHermite& rule, const double* sigma_w_p,
                     const double* dsigma_w_p, double sqrt_q_o, const Geometry& g, Workspace& ws,
                     double& t, double& t_dot) {
  const std::size_t nq = rule.nodes.size();
  const double* z = rule.nodes.data();
  const double* w = rule.weights.data();
  const double cu = sqrt_q_o * g.rho, cs = sqrt_q_o * g.sin_theta;
  double* v = ws.v.data();
  for (std::size_t a = 0; a < nq; ++a) {
    const double base = cu * z[a];
#pragma omp simd
    for (std::size_t b = 0; b < nq; ++b) v[a * nq + b] = base + cs * z[b];
  }
  activate_arrays(activation, v, ws.s.data(), ws.ds.data(), nq * nq);
  double sum = 0, sum_dot = 0;
  for (std::size_t a = 0; a < nq; ++a) {
    const double* s = ws.s.data() + a * nq;
    const double* ds = ws.ds.data() + a * nq;
    double inner = 0, inner_dot = 0;
#pragma omp simd reduction(+ : inner, inner_dot)
    for (std::size_t b = 0; b < nq; ++b) {
      inner += w[b] * s[b];
      inner_dot += w[b] * ds[b];
    }
    sum += sigma_w_p[a] * inner;
    sum_dot += dsigma_w_p[a] * inner_dot;
  }
  t = sum;
  t_dot = sum_dot;
}

// ---- One row of the kernel ----------------------------------------------------------------

// Inputs of the per-entry map shared by all rows.
struct MapContext {
  Activation activation;
  bool quadrature;
  const GaussHermite* rule;                      // quadrature only
  const PointTables *tables1, *tables2;          // quadrature only
  const VectorD *q1, *q2;
};

// Fills a[j] = K^a and b[j] = K^b for row i of X1 against rows j0..j0+len of X2, from the
// Gram values k[j]. a and b may alias nothing else; k is read before a is written.
void map_row(const MapContext& c, Index i, Index j0, Index len, const double* k, double* a,
             double* b, Workspace& ws) {
  const double qi = (*c.q1)[i];
  const double* qj = c.q2->data() + j0;
  const auto n = static_cast<std::size_t>(len);

  if (c.quadrature) {
    const PointTables& t1 = *c.tables1;
    const PointTables& t2 = *c.tables2;
    for (Index j = 0; j < len; ++j) {
      const Geometry g = pair_geometry(qi, qj[j], k[j]);
      double t = 0, t_dot = 0;
      if (qi >= qj[j])
        quadrature_pair(c.activation, *c.rule, t1.sigma_w.row(i).data(), t1.dsigma_w.row(i).data(),
                        t2.sqrt_q[j0 + j], g, ws, t, t_dot);
      else
        quadrature_pair(c.activation, *c.rule, t2.sigma_w.row(j0 + j).data(),
                        t2.dsigma_w.row(j0 + j).data(), t1.sqrt_q[i], g, ws, t, t_dot);
      a[j] = k[j] * t_dot;
      b[j] = t;
    }
    return;
  }

  switch (c.activation) {
    case Activation::Identity:
      // E[uv] = k and E[1·1] = 1.
      for (Index j = 0; j < len; ++j) a[j] = b[j] = k[j];
      return;
    case Activation::Relu: {
      double *r = ws.r.data(), *rho = ws.rho.data(), *sn = ws.sn.data(), *theta = ws.theta.data();
      for (Index j = 0; j < len; ++j) {
        const Geometry g = pair_geometry(qi, qj[j], k[j]);
        r[j] = g.r;
        rho[j] = g.rho;
        sn[j] = g.sin_theta;
      }
      detail::atan2_array(sn, rho, theta, n);
      constexpr double inv_2pi = 0.5 * std::numbers::inv_pi;
      for (Index j = 0; j < len; ++j) {
        // Arc-cosine kernels of order 0 and 1 (Cho & Saul 2009), halved: SPEC §2.
        const double kj = k[j];
        a[j] = kj * ((kPi - theta[j]) * inv_2pi);
        b[j] = r[j] * (sn[j] + (kPi - theta[j]) * rho[j]) * inv_2pi;
      }
      return;
    }
    case Activation::Erf: {
      // (1 + 2q1)(1 + 2q2) − 4k² = 1 + 2(q1 + q2) + 4 r² sin² θ ≥ 1, computed without the
      // cancellation of q1 q2 − k²; arcsin(y/c) = atan2(y, √(c² − y²)) keeps full accuracy
      // where the arcsin argument approaches 1 (large norms, ρ → ±1).
      double *y = ws.r.data(), *root = ws.sn.data(), *angle = ws.theta.data();
      for (Index j = 0; j < len; ++j) {
        const Geometry g = pair_geometry(qi, qj[j], k[j]);
        const double rs = g.r * g.sin_theta;
        root[j] = std::sqrt(1.0 + 2.0 * (qi + qj[j]) + 4.0 * rs * rs);
        y[j] = 2.0 * k[j];
      }
      detail::atan2_array(y, root, angle, n);
      for (Index j = 0; j < len; ++j) {
        a[j] = k[j] * (4.0 * std::numbers::inv_pi / root[j]);
        b[j] = 2.0 * std::numbers::inv_pi * angle[j];
      }
      return;
    }
    case Activation::Tanh:
      break;  // unreachable: Tanh always takes the quadrature route
  }
}

bool uses_quadrature(Activation activation, const TwoLayerKernelOptions& options) {
  return options.force_quadrature || activation == Activation::Tanh;
}

std::vector<Workspace> make_workspaces(int threads, bool quadrature, std::size_t nq, Index row) {
  std::vector<Workspace> ws(static_cast<std::size_t>(threads));
  for (Workspace& w : ws) {
    if (quadrature) {
      w.v.resize(nq * nq);
      w.s.resize(nq * nq);
      w.ds.resize(nq * nq);
    } else {
      const auto len = static_cast<std::size_t>(row);
      w.r.resize(len);
      w.rho.resize(len);
      w.sn.resize(len);
      w.theta.resize(len);
    }
  }
  return ws;
}

double work_estimate(double entries, bool quadrature, std::size_t nq) {
  return entries * (quadrature ? static_cast<double>(nq * nq) : 8.0);
}

}  // namespace

RowMatrixD NtkParts::total() const { return a + b; }

GaussHermite gaussian_trapezoid_rule(double max_q) {
  if (!(max_q >= 0) || !std::isfinite(max_q)) {
    std::ostringstream msg;
    msg << "gaussian_trapezoid_rule: max_q must be finite and >= 0, got " << max_q;
    throw Error(msg.str());
  }
  // Step from the poles of tanh(√q z) at distance π/(2√q) (see the header); the Gaussian
  // weight is below 3e-18 beyond |z| = 9.
  constexpr double kHalfWidth = 9.0;
  const double step = std::min(0.25, std::numbers::pi / (12.0 * std::sqrt(std::max(max_q, 1e-300))));
  const double half_nodes = std::ceil(kHalfWidth / step);
  if (half_nodes > 10000) {
    throw Error("gaussian_trapezoid_rule: inputs with squared norm " + std::to_string(max_q) +
                " need more than 20001 quadrature nodes per axis; rescale the inputs");
  }
  const auto m = static_cast<Index>(half_nodes);
  GaussHermite rule;
  double total = 0;
  for (Index j = -m; j <= m; ++j) {
    const double z = step * static_cast<double>(j);
    rule.nodes.push_back(z);
    rule.weights.push_back(std::exp(-0.5 * z * z));
    total += rule.weights.back();
  }
  for (double& w : rule.weights) w /= total;  // Σ w = 1: exact for constants
  return rule;
}

GaussHermite gauss_hermite(int degree) {
  require_degree(degree, "gauss_hermite");
  if (degree == 0) throw Error("gauss_hermite: the degree must be in [1, 200], got 0");
  const Index n = degree;
  // Jacobi matrix of the monic probabilists' Hermite recurrence He_{j+1} = z He_j − j He_{j−1}.
  VectorD diag = VectorD::Zero(n), sub(std::max<Index>(n - 1, 0));
  for (Index j = 0; j + 1 < n; ++j) sub[j] = std::sqrt(static_cast<double>(j + 1));
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver;
  solver.computeFromTridiagonal(diag, sub, Eigen::EigenvaluesOnly);
  if (solver.info() != Eigen::Success) throw Error("gauss_hermite: eigenvalue iteration failed");

  GaussHermite rule;
  rule.nodes.resize(static_cast<std::size_t>(n));
  rule.weights.resize(static_cast<std::size_t>(n));
  // The rule is symmetric; enforce it so that odd moments vanish exactly.
  for (Index j = 0; j < n; ++j) {
    const double mirrored = 0.5 * (solver.eigenvalues()[j] - solver.eigenvalues()[n - 1 - j]);
    rule.nodes[static_cast<std::size_t>(j)] = (2 * j + 1 == n) ? 0.0 : mirrored;
  }
  // Golub–Welsch weight = squared first component of the unit eigenvector. The eigenvector
  // for node z is (p_0(z), …, p_{n−1}(z)) / norm, with p_j the orthonormal Hermite
  // polynomials, so the weight is 1 / Σ_j p_j(z)². Evaluating that by the recurrence instead
  // of reading the solver's eigenvectors keeps full relative accuracy for the tiny weights
  // of the outer nodes (≈ 1e-160 at degree 200), which an eigenvector's absolute error would
  // swamp; it also costs O(n²) instead of O(n³).
  double total = 0;
  for (Index j = 0; j < n; ++j) {
    const double z = rule.nodes[static_cast<std::size_t>(j)];
    double p_prev = 0, p = 1, sum = 1;
    for (Index m = 1; m < n; ++m) {  // p_m = (z p_{m−1} − √(m−1) p_{m−2}) / √m
      const double p_next =
          (z * p - std::sqrt(static_cast<double>(m - 1)) * p_prev) / std::sqrt(static_cast<double>(m));
      p_prev = p;
      p = p_next;
      sum += p * p;
    }
    rule.weights[static_cast<std::size_t>(j)] = 1.0 / sum;
  }
  for (Index j = 0; j < n; ++j) {  // symmetric weights, then exactly normalized
    auto& lo = rule.weights[static_cast<std::size_t>(j)];
    auto& hi = rule.weights[static_cast<std::size_t>(n - 1 - j)];
    if (j < n - 1 - j) lo = hi = 0.5 * (lo + hi);
  }
  for (double w : rule.weights) total += w;
  for (double& w : rule.weights) w /= total;
  return rule;
}

double gaussian_expectation_2d(const std::function<double(double)>& g,
                               const std::function<double(double)>& h, double q1, double q2,
                               double k, const GaussHermite& rule) {
  if (!(q1 >= 0) || !(q2 >= 0) || !std::isfinite(q1) || !std::isfinite(q2) || !std::isfinite(k)) {
    std::ostringstream msg;
    msg << "gaussian_expectation_2d: the covariance needs finite q1 >= 0, q2 >= 0 and k; got q1="
        << q1 << ", q2=" << q2 << ", k=" << k;
    throw Error(msg.str());
  }
  if (rule.nodes.empty() || rule.nodes.size() != rule.weights.size())
    throw Error("gaussian_expectation_2d: the rule needs as many weights as nodes, at least one");
  const Geometry geo = pair_geometry(q1, q2, k);
  const double su = std::sqrt(q1), sv = std::sqrt(q2);
  const double cu = sv * geo.rho, cs = sv * geo.sin_theta;
  double sum = 0;
  for (std::size_t a = 0; a < rule.nodes.size(); ++a) {
    double inner = 0;
    for (std::size_t b = 0; b < rule.nodes.size(); ++b)
      inner += rule.weights[b] * h(cu * rule.nodes[a] + cs * rule.nodes[b]);
    sum += rule.weights[a] * g(su * rule.nodes[a]) * inner;
  }
  return sum;
}

NtkParts two_layer_ntk(Activation activation, MatrixView<double> x1, MatrixView<double> x2,
                       const TwoLayerKernelOptions& options) {
  require_degree(options.quadrature_degree, "two_layer_ntk (options.quadrature_degree)");
  if (x1.cols() != x2.cols()) {
    std::ostringstream msg;
    msg << "two_layer_ntk: x1 has " << x1.cols() << " columns but x2 has " << x2.cols()
        << "; both inputs need the same number of features";
    throw Error(msg.str());
  }
  detail::require_finite_input(x1, "two_layer_ntk", "x1");
  detail::require_finite_input(x2, "two_layer_ntk", "x2");
  const VectorD q1 = x1.rowwise().squaredNorm(), q2 = x2.rowwise().squaredNorm();
  require_finite_norms(q1, "x1");
  require_finite_norms(q2, "x2");

  NtkParts parts;
  RowMatrixD gram;
  detail::gemm_abt<double>(x1, x2, gram);
  const Index n1 = gram.rows(), n2 = gram.cols();
  parts.a.resize(n1, n2);
  parts.b.resize(n1, n2);
  if (gram.size() == 0) return parts;

  const bool quadrature = uses_quadrature(activation, options);
  GaussHermite rule;
  PointTables t1, t2;
  if (quadrature) {
    rule = options.quadrature_degree > 0 ? gauss_hermite(options.quadrature_degree)
                                         : gaussian_trapezoid_rule(std::max(q1.maxCoeff(), q2.maxCoeff()));
    t1 = make_tables(activation, q1, rule);
    t2 = make_tables(activation, q2, rule);
  }
  const MapContext context{activation, quadrature, &rule, &t1, &t2, &q1, &q2};
  const bool parallel = work_estimate(double(n1) * double(n2), quadrature, rule.nodes.size()) > kParallelWork;
  const int threads = parallel ? omp_get_max_threads() : 1;
  std::vector<Workspace> workspaces = make_workspaces(threads, quadrature, rule.nodes.size(), n2);

  detail::ParallelErrors errors;
#pragma omp parallel num_threads(threads) if (parallel)
  {
    Workspace& ws = workspaces[static_cast<std::size_t>(omp_get_thread_num())];
#pragma omp for schedule(dynamic, 1)
    for (Index i = 0; i < n1; ++i)
      errors.run([&] {
        map_row(context, i, 0, n2, gram.row(i).data(), parts.a.row(i).data(), parts.b.row(i).data(), ws);
      });
  }
  errors.rethrow_if_any();
  return parts;
}

NtkParts two_layer_ntk(Activation activation, MatrixView<double> x,
                       const TwoLayerKernelOptions& options) {
  require_degree(options.quadrature_degree, "two_layer_ntk (options.quadrature_degree)");
  detail::require_finite_input(x, "two_layer_ntk", "x");

  NtkParts parts;
  RowMatrixD gram;
  detail::syrk_upper<double>(x, gram);
  const Index n = gram.rows();
  // Squared norms from the Gram diagonal, so that k(x, x) sees exactly ρ = 1.
  const VectorD q = gram.diagonal();
  require_finite_norms(q, "x");
  parts.a.resize(n, n);
  parts.b.resize(n, n);
  if (n == 0) return parts;

  const bool quadrature = uses_quadrature(activation, options);
  GaussHermite rule;
  PointTables tables;
  if (quadrature) {
    rule = options.quadrature_degree > 0 ? gauss_hermite(options.quadrature_degree)
                                         : gaussian_trapezoid_rule(q.maxCoeff());
    tables = make_tables(activation, q, rule);
  }
  const MapContext context{activation, quadrature, &rule, &tables, &tables, &q, &q};
  const bool parallel = work_estimate(0.5 * double(n) * double(n), quadrature, rule.nodes.size()) > kParallelWork;
  const int threads = parallel ? omp_get_max_threads() : 1;
  std::vector<Workspace> workspaces = make_workspaces(threads, quadrature, rule.nodes.size(), n);

  // Upper triangle row by row (rows shrink, hence dynamic scheduling), then mirrored.
  detail::ParallelErrors errors;
#pragma omp parallel num_threads(threads) if (parallel)
  {
    Workspace& ws = workspaces[static_cast<std::size_t>(omp_get_thread_num())];
#pragma omp for schedule(dynamic, 1)
    for (Index i = 0; i < n; ++i)
      errors.run([&] { map_row(context, i, i, n - i, &gram(i, i), &parts.a(i, i), &parts.b(i, i), ws); });
  }
  errors.rethrow_if_any();
  detail::mirror_upper_to_lower(parts.a);
  detail::mirror_upper_to_lower(parts.b);
  return parts;
}

}  // namespace ntkit
