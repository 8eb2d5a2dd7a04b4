#include "ntkit/analytic.hpp"

#include <omp.h>

#include <algorithm>
#include <memory>
#include <sstream>
#include <vector>

#include "blas.hpp"
#include "input_checks.hpp"
#include "ntkit/dual_activation.hpp"
#include "ntkit/error.hpp"

namespace ntkit {
namespace {

using Index = Eigen::Index;

// Entries per chunk of a row: the state arrays of a chunk stay in L1/L2 through all layers.
constexpr Index kChunk = 256;

// The state of a chunk of pairs (one row i, columns j0..j0+len): K and Θ per pair.
struct Stream {
  std::vector<double> k, theta;
};

// Everything a chunk evaluation needs, built once: the dual of every activation, in the
// order the layers are visited, and the variances of every point before each activation.
struct Plan {
  std::vector<std::unique_ptr<DualActivation>> duals;  // by visit order
  std::vector<VectorD> var1, var2;                     // by visit order: q of X1's / X2's points
  bool ntk = true;
};

void require_supported(const Network& network) {
  for (const Layer& layer : network.layers) {
    if (std::holds_alternative<LayerNormLayer>(layer)) {
      throw Error("analytic kernels: LayerNorm is not supported yet in the infinite-width kernels; "
                  "remove it from the architecture");
    }
    if (const auto* par = std::get_if<ParallelLayer>(&layer))
      for (const Network& branch : par->branches) require_supported(branch);
  }
}

// Walks the layers on a set of streams; `visit` counts activations so that each one finds its
// dual and its variances. `width` is the feature count entering the current layer (n_in).
// In the diagonal pass (record != nullptr) the entries are single points, K holds K(x, x),
// and the variance before each activation is recorded instead of read.
class Walker {
 public:
  Walker(const Plan& plan, std::vector<VectorD>* record, Index i, Index j0, Index len)
      : plan_(plan), record_(record), i_(i), j0_(j0), len_(len) {}

  void run(const Network& network, std::vector<Stream>& streams, int& width, std::size_t& visit) {
    for (const Layer& layer : network.layers) std::visit([&](const auto& l) { apply(l, streams, width, visit); }, layer);
  }

 private:
  void apply(const DenseLayer& d, std::vector<Stream>& streams, int& width, std::size_t&) {
    const double w2 = d.W_std * d.W_std, b2 = d.b_std ? *d.b_std * *d.b_std : 0.0;
    const double n_in = static_cast<double>(width);
    const double bias_ntk = d.b_std ? 1.0 : 0.0;
    // Branch-free loops per case, so that each vectorizes.
    for (Stream& s : streams) {
      double* k = s.k.data();
      double* theta = s.theta.data();
      if (!plan_.ntk || record_ != nullptr) {
#pragma omp simd
        for (Index e = 0; e < len_; ++e) k[e] = w2 * k[e] + b2;
      } else if (d.parameterization == Parameterization::Ntk) {
#pragma omp simd
        for (Index e = 0; e < len_; ++e) {
          k[e] = w2 * k[e] + b2;
          theta[e] = w2 * theta[e] + k[e];
        }
      } else {
#pragma omp simd
        for (Index e = 0; e < len_; ++e) {
          theta[e] = n_in * k[e] + w2 * theta[e] + bias_ntk;
          k[e] = w2 * k[e] + b2;
        }
      }
    }
    width = d.out_dim;
  }

  void apply(const ActivationLayer&, std::vector<Stream>& streams, int&, std::size_t& visit) {
    const DualActivation& dual = *plan_.duals[visit];
    const auto n = static_cast<std::size_t>(len_);
    for (Stream& s : streams) {  // one stream: activations never act between FanOut and FanInSum
      if (record_ != nullptr) {  // diagonal pass: one point per entry, K is its variance
        for (Index e = 0; e < len_; ++e) (*record_)[visit][j0_ + e] = s.k[e];
        dual.apply_diagonal(s.k.data(), s.k.data(), n);
        continue;
      }
      double q1[kChunk], q2[kChunk];
      const double qi = plan_.var1[visit][i_];
      for (Index e = 0; e < len_; ++e) {
        q1[e] = qi;
        q2[e] = plan_.var2[visit][j0_ + e];
      }
      if (plan_.ntk) {
        double tdot[kChunk];
        dual.apply(q1, q2, s.k.data(), s.k.data(), tdot, n);
        for (Index e = 0; e < len_; ++e) s.theta[e] *= tdot[e];
      } else {
        dual.apply(q1, q2, s.k.data(), s.k.data(), nullptr, n);
      }
    }
    ++visit;
  }

  void apply(const IdentityLayer&, std::vector<Stream>&, int&, std::size_t&) {}
  void apply(const LayerNormLayer&, std::vector<Stream>&, int&, std::size_t&) {}  // rejected earlier

  void apply(const FanOutLayer& f, std::vector<Stream>& streams, int&, std::size_t&) {
    const Stream one = streams.front();
    streams.assign(static_cast<std::size_t>(f.num), one);
  }

  void apply(const ParallelLayer& p, std::vector<Stream>& streams, int& width, std::size_t& visit) {
    int out_width = width;
    for (std::size_t b = 0; b < p.branches.size(); ++b) {
      std::vector<Stream> single{streams[b]};
      int w = width;
      run(p.branches[b], single, w, visit);
      streams[b] = std::move(single.front());
      out_width = w;
    }
    width = out_width;
  }

  void apply(const FanInSumLayer&, std::vector<Stream>& streams, int&, std::size_t&) {
    Stream sum = streams.front();
    for (std::size_t b = 1; b < streams.size(); ++b)
      for (Index e = 0; e < len_; ++e) {
        sum.k[e] += streams[b].k[e];
        sum.theta[e] += streams[b].theta[e];
      }
    streams.assign(1, sum);
  }

  const Plan& plan_;
  std::vector<VectorD>* record_;
  Index i_, j0_, len_;
};

std::size_t count_activations(const Network& network) {
  std::size_t n = 0;
  for (const Layer& layer : network.layers) {
    if (std::holds_alternative<ActivationLayer>(layer)) ++n;
    if (const auto* par = std::get_if<ParallelLayer>(&layer))
      for (const Network& branch : par->branches) n += count_activations(branch);
  }
  return n;
}

void collect_duals(const Network& network, int degree, std::vector<std::unique_ptr<DualActivation>>& out) {
  for (const Layer& layer : network.layers) {
    if (const auto* act = std::get_if<ActivationLayer>(&layer)) out.push_back(std::make_unique<DualActivation>(*act, degree));
    if (const auto* par = std::get_if<ParallelLayer>(&layer))
      for (const Network& branch : par->branches) collect_duals(branch, degree, out);
  }
}

// The diagonal pass: variances before every activation for each point (and K(x, x), Θ(x, x)).
std::vector<VectorD> diagonal_pass(const Network& network, const Plan& plan, const VectorD& sq_norms, Index d) {
  const Index n = sq_norms.size();
  std::vector<VectorD> record(plan.duals.size(), VectorD(n));
  for (Index j0 = 0; j0 < n; j0 += kChunk) {
    const Index len = std::min(kChunk, n - j0);
    std::vector<Stream> streams(1);
    streams[0].k.resize(static_cast<std::size_t>(len));
    streams[0].theta.assign(static_cast<std::size_t>(len), 0.0);
    for (Index e = 0; e < len; ++e) streams[0].k[e] = sq_norms[j0 + e] / static_cast<double>(d);
    int width = static_cast<int>(d);
    std::size_t visit = 0;
    Walker(plan, &record, 0, j0, len).run(network, streams, width, visit);
  }
  return record;
}

Plan make_plan(const Network& network, const AnalyticOptions& options) {
  validate(network);
  require_supported(network);
  if (!options.nngp && !options.ntk) throw Error("analytic kernels: request the NNGP, the NTK, or both");
  Plan plan;
  plan.ntk = options.ntk;
  collect_duals(network, options.quadrature_degree, plan.duals);
  return plan;
}


// Maps one chunk of a row from the Gram values in `nngp` (in place) to the final K and Θ.
void map_chunk(const Network& network, const Plan& plan, Index d, Index i, Index j0, Index len, double* nngp,
               double* ntk) {
  thread_local std::vector<Stream> streams;  // reused: no allocation per chunk
  streams.resize(1);
  streams[0].k.assign(nngp, nngp + len);
  for (double& v : streams[0].k) v /= static_cast<double>(d);
  streams[0].theta.assign(static_cast<std::size_t>(len), 0.0);
  int width = static_cast<int>(d);
  std::size_t visit = 0;
  Walker(plan, nullptr, i, j0, len).run(network, streams, width, visit);
  std::copy(streams[0].k.begin(), streams[0].k.end(), nngp);
  if (ntk != nullptr) std::copy(streams[0].theta.begin(), streams[0].theta.end(), ntk);
}

}  // namespace

AnalyticKernels analytic_kernels(const Network& network, MatrixView<double> x1, MatrixView<double> x2,
                                 const AnalyticOptions& options) {
  Plan plan = make_plan(network, options);
  if (x1.cols() != x2.cols()) {
    std::ostringstream msg;
    msg << "analytic kernels: x1 has " << x1.cols() << " columns but x2 has " << x2.cols()
        << "; both inputs need the same number of features";
    throw Error(msg.str());
  }
  if (x1.cols() == 0) throw Error("analytic kernels: inputs have no features");
  detail::require_finite_input(x1, "analytic kernels", "x1");
  detail::require_finite_input(x2, "analytic kernels", "x2");
  const Index d = x1.cols();
  plan.var1 = diagonal_pass(network, plan, x1.rowwise().squaredNorm(), d);
  plan.var2 = diagonal_pass(network, plan, x2.rowwise().squaredNorm(), d);

  AnalyticKernels out;
  RowMatrixD k;
  detail::gemm_abt<double>(x1, x2, k);
  RowMatrixD theta;
  if (options.ntk) theta.resize(k.rows(), k.cols());
  const Index n1 = k.rows(), n2 = k.cols();
#pragma omp parallel for schedule(dynamic, 4) if (n1 * n2 > 4096)
  for (Index i = 0; i < n1; ++i)
    for (Index j0 = 0; j0 < n2; j0 += kChunk) {
      const Index len = std::min(kChunk, n2 - j0);
      map_chunk(network, plan, d, i, j0, len, &k(i, j0), options.ntk ? &theta(i, j0) : nullptr);
    }
  if (options.nngp) out.nngp = std::move(k);
  if (options.ntk) out.ntk = std::move(theta);
  return out;
}

AnalyticKernels analytic_kernels(const Network& network, MatrixView<double> x, const AnalyticOptions& options) {
  Plan plan = make_plan(network, options);
  if (x.cols() == 0) throw Error("analytic kernels: inputs have no features");
  detail::require_finite_input(x, "analytic kernels", "x");
  const Index d = x.cols();
  RowMatrixD k;
  detail::syrk_upper<double>(x, k);
  // Variances from the Gram diagonal itself, so that each diagonal entry sees exactly ρ = 1.
  const VectorD sq = k.diagonal();
  plan.var1 = diagonal_pass(network, plan, sq, d);
  plan.var2 = plan.var1;
  RowMatrixD theta;
  if (options.ntk) theta.resize(k.rows(), k.cols());
  const Index n = k.rows();
#pragma omp parallel for schedule(dynamic, 4) if (n * n > 8192)
  for (Index i = 0; i < n; ++i)
    for (Index j0 = i; j0 < n; j0 += kChunk) {
      const Index len = std::min(kChunk, n - j0);
      map_chunk(network, plan, d, i, j0, len, &k(i, j0), options.ntk ? &theta(i, j0) : nullptr);
    }
  detail::mirror_upper_to_lower(k);
  if (options.ntk) detail::mirror_upper_to_lower(theta);
  AnalyticKernels out;
  if (options.nngp) out.nngp = std::move(k);
  if (options.ntk) out.ntk = std::move(theta);
  return out;
}

}  // namespace ntkit
