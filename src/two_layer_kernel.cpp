#include "ntkit/two_layer_kernel.hpp"

#include <omp.h>

#include "ntkit/eigen.hpp"  // first: silences a GCC 12 false positive in AVX-512 intrinsics
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <optional>
#include <sstream>
#include <string>

#include "activations/pair_geometry.hpp"
#include "blas.hpp"
#include "input_checks.hpp"
#include "ntkit/dual_activation.hpp"
#include "ntkit/error.hpp"
#include "ntkit/pointwise_activation.hpp"
#include "parallel_errors.hpp"

namespace ntkit {
namespace {

using Index = Eigen::Index;
constexpr int kMaxQuadratureDegree = 200;
// Forced quadrature with quadrature_degree = 0: Gauss–Hermite of this degree.
constexpr int kForcedDegree = 100;

// Below this many elementary operations a kernel matrix is computed on one thread: starting
// a parallel region costs more than it saves.
constexpr double kParallelWork = 32768;

// ---- Validation (before any OpenMP region) --------------------------------------------------

void require_degree(int degree, const char* where) {
  if (degree < 0 || degree > kMaxQuadratureDegree) {
    std::ostringstream msg;
    msg << where << ": the Gauss-Hermite degree must be in [1, " << kMaxQuadratureDegree
        << "] (or 0 for the default rule), got " << degree;
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

// ---- One row of the kernel ----------------------------------------------------------------

// Scratch space of one thread: ‖x_i‖² repeated along a row (the dual takes one q1 per entry).
struct Workspace {
  std::vector<double> qi;
};

// Inputs of the per-entry map shared by all rows: the deep engine's dual activation, or (forced
// quadrature, for cross-checks) σ, σ' and a Gauss–Hermite rule.
struct MapContext {
  bool identity;                     // σ(x) = x, not forced quadrature
  const DualActivation* dual;        // null: forced quadrature
  const PointwiseActivation* sigma;  // forced quadrature only
  const GaussHermite* rule;          // forced quadrature only
  const VectorD *q1, *q2;
};

// Fills a[j] = K^a and b[j] = K^b for row i of X1 against rows j0..j0+len of X2, from the
// Gram values k[j]: b = T(q_i, q_j, k) = E[σ(u)σ(v)], a = k Ṫ = (x·x') E[σ'(u)σ'(v)].
void map_row(const MapContext& c, Index i, Index j0, Index len, const double* k, double* a, double* b, Workspace& ws) {
  const double qi = (*c.q1)[i];
  const double* qj = c.q2->data() + j0;
  if (c.identity) {
    // Monomial(1): T = k, Ṫ = 1. The engine's route (the Hermite expansion of a polynomial)
    // gives the same bits but took 35-50% longer for the whole kernel (n = 2000, d = 10).
    for (Index j = 0; j < len; ++j) a[j] = b[j] = k[j];
    return;
  }
  if (c.dual) {
    std::fill_n(ws.qi.data(), len, qi);
    c.dual->apply(ws.qi.data(), qj, k, b, a, static_cast<std::size_t>(len));
    for (Index j = 0; j < len; ++j) a[j] *= k[j];
    return;
  }
  const PointwiseActivation& sigma = *c.sigma;
  const auto f = [&sigma](double z) { return sigma.value(z); };
  const auto df = [&sigma](double z) { return sigma.derivative(z); };
  for (Index j = 0; j < len; ++j) {
    // The point with the larger q on the outer axis: K(x, x') and K(x', x) run the same
    // arithmetic, so the general and the symmetric routes agree.
    const double q_outer = std::max(qi, qj[j]), q_inner = std::min(qi, qj[j]);
    b[j] = gaussian_expectation_2d(f, f, q_outer, q_inner, k[j], *c.rule);
    a[j] = k[j] * gaussian_expectation_2d(df, df, q_outer, q_inner, k[j], *c.rule);
  }
}

// The map of one kernel: the dual of the activation (the rule quadrature_degree asks for, for
// activations without a closed form), or forced Gauss–Hermite quadrature.
struct KernelMap {
  std::optional<DualActivation> dual;
  std::optional<PointwiseActivation> sigma;
  GaussHermite rule;

  KernelMap(const Activation& activation, const TwoLayerKernelOptions& options) {
    if (options.force_quadrature) {
      sigma.emplace(activation.layer());
      rule = gauss_hermite(options.quadrature_degree > 0 ? options.quadrature_degree : kForcedDegree);
    } else {
      dual.emplace(activation.layer(), options.quadrature_degree);
    }
  }
  MapContext context(const VectorD& q1, const VectorD& q2) const {
    const bool identity = dual && dual->layer().kind == ActivationKind::Monomial && dual->layer().degree == 1;
    return {identity, dual ? &*dual : nullptr, sigma ? &*sigma : nullptr, &rule, &q1, &q2};
  }
  // Elementary operations per entry, to decide whether a parallel region pays: a closed form is
  // a few dozen; the dual's quadrature thousands of evaluations of φ; forced quadrature 2 N².
  double work(double entries) const {
    if (!dual) return entries * 2.0 * static_cast<double>(rule.nodes.size() * rule.nodes.size());
    return entries * (dual->has_closed_form() ? 8.0 : 4096.0);
  }
};

std::vector<Workspace> make_workspaces(int threads, Index row) {
  std::vector<Workspace> ws(static_cast<std::size_t>(threads));
  for (Workspace& w : ws) w.qi.resize(static_cast<std::size_t>(row));
  return ws;
}

}  // namespace

RowMatrixD NtkParts::total() const { return a + b; }

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
      const double p_next = (z * p - std::sqrt(static_cast<double>(m - 1)) * p_prev) / std::sqrt(static_cast<double>(m));
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

double gaussian_expectation_2d(const std::function<double(double)>& g, const std::function<double(double)>& h, double q1,
                               double q2, double k, const GaussHermite& rule) {
  if (!(q1 >= 0) || !(q2 >= 0) || !std::isfinite(q1) || !std::isfinite(q2) || !std::isfinite(k)) {
    std::ostringstream msg;
    msg << "gaussian_expectation_2d: the covariance needs finite q1 >= 0, q2 >= 0 and k; got q1=" << q1 << ", q2=" << q2
        << ", k=" << k;
    throw Error(msg.str());
  }
  if (rule.nodes.empty() || rule.nodes.size() != rule.weights.size())
    throw Error("gaussian_expectation_2d: the rule needs as many weights as nodes, at least one");
  // ρ and sin θ = √((1 − ρ)(1 + ρ)) from the engine's pair geometry (ρ = 0 for a zero-norm side).
  activations::Geometry geo;
  activations::geometry(&q1, &q2, &k, 1, geo);
  const double su = std::sqrt(q1), sv = std::sqrt(q2);
  const double cu = sv * geo.rho[0], cs = sv * geo.sn[0];
  double sum = 0;
  for (std::size_t a = 0; a < rule.nodes.size(); ++a) {
    double inner = 0;
    for (std::size_t b = 0; b < rule.nodes.size(); ++b) inner += rule.weights[b] * h(cu * rule.nodes[a] + cs * rule.nodes[b]);
    sum += rule.weights[a] * g(su * rule.nodes[a]) * inner;
  }
  return sum;
}

NtkParts two_layer_ntk(const Activation& activation, MatrixView<double> x1, MatrixView<double> x2,
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

  const KernelMap map(activation, options);
  const MapContext context = map.context(q1, q2);
  const bool parallel = map.work(double(n1) * double(n2)) > kParallelWork;
  const int threads = parallel ? omp_get_max_threads() : 1;
  std::vector<Workspace> workspaces = make_workspaces(threads, n2);

  detail::ParallelErrors errors;
#pragma omp parallel num_threads(threads) if (parallel)
  {
    Workspace& ws = workspaces[static_cast<std::size_t>(omp_get_thread_num())];
#pragma omp for schedule(dynamic, 1)
    for (Index i = 0; i < n1; ++i)
      errors.run([&] { map_row(context, i, 0, n2, gram.row(i).data(), parts.a.row(i).data(), parts.b.row(i).data(), ws); });
  }
  errors.rethrow_if_any();
  return parts;
}

NtkParts two_layer_ntk(const Activation& activation, MatrixView<double> x, const TwoLayerKernelOptions& options) {
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

  const KernelMap map(activation, options);
  const MapContext context = map.context(q, q);
  const bool parallel = map.work(0.5 * double(n) * double(n)) > kParallelWork;
  const int threads = parallel ? omp_get_max_threads() : 1;
  std::vector<Workspace> workspaces = make_workspaces(threads, n);

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
