// The ReLU family: Relu, LeakyRelu(α), ABRelu(a, b), Abs, all of the form
// φ(x) = a min(x, 0) + b max(x, 0) (Relu = (0, 1), LeakyRelu(α) = (α, 1), Abs = (−1, 1)).
//
// Dual (docs/mathematics.md §5), from the arc-cosine kernels of order 0 and 1 (Cho & Saul 2009):
// P(u > 0, v > 0) = (π − θ)/(2π) and E[u₊v₊] = (s + (π − θ) k)/(2π); expanding φ = b x₊ − a (−x)₊
// gives (neural-tangents ABRelu, arXiv:1711.09090 for the leaky case)
//   Ṫ = (a² + b²)/2 − (a − b)² θ/(2π),   T = (a − b)² s/(2π) + Ṫ k.
// At a zero-norm side (θ = π/2, docs/mathematics.md §6) Ṫ = (a² + b²)/2 − (a − b)²/4 (¼ for
// Relu). do_stabilize is accepted and changes nothing: the formulas never form q1·q2 − k²
// products that could overflow.
#include "activations/catalogue.hpp"
#include "activations/pair_geometry.hpp"
#include "vector_math.hpp"

namespace ntkit::activations {
namespace {

using F = ActivationField;

// The dual of every member, in the slopes lo (x < 0) and hi (x > 0).
class ABReluDual : public ActivationRules {
 public:
  ABReluDual(double lo, double hi) : sq_((lo - hi) * (lo - hi)), half_sum_(0.5 * (lo * lo + hi * hi)) {}

  void dual(const double* q1, const double* q2, const double* k, double* t, double* tdot, std::size_t n) const final {
    Geometry g;
    geometry(q1, q2, k, n, g);
    double theta[kChunk];
    detail::atan2_array(g.sn, g.rho, theta, n);
    // θ/(2π) is exactly 0, ¼, ½ at θ = 0, π/2, π (kInv2Pi), so duplicates, orthogonal/zero-norm
    // pairs and ρ = −1 give exact values (Relu: Ṫ = ½, ¼, 0).
    const double sq = sq_, half_sum = half_sum_;
    const double* kc = g.kc;
    const double* s = g.s;
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) {
      const double d = half_sum - sq * (theta[i] * kInv2Pi);
      t[i] = sq * (s[i] * kInv2Pi) + d * kc[i];
      if (tdot) tdot[i] = d;
    }
  }

 private:
  double sq_;        // (a − b)²
  double half_sum_;  // (a² + b²)/2
};

// max(x, 0)
class Relu final : public WithArrayLoop<Relu, ABReluDual> {
 public:
  explicit Relu(const ActivationLayer&) : WithArrayLoop(0, 1) {}
  double value(double x) const override { return x > 0 ? x : 0.0; }
  double derivative(double x) const override { return x > 0 ? 1.0 : 0.0; }
};

// x ≥ 0 ? x : αx
class LeakyRelu final : public WithArrayLoop<LeakyRelu, ABReluDual> {
 public:
  explicit LeakyRelu(const ActivationLayer& layer) : WithArrayLoop(layer.alpha, 1), alpha_(layer.alpha) {}
  double value(double x) const override { return x >= 0 ? x : alpha_ * x; }
  double derivative(double x) const override { return x > 0 ? 1.0 : alpha_; }

 private:
  double alpha_;
};

// a min(x, 0) + b max(x, 0)
class ABRelu final : public WithArrayLoop<ABRelu, ABReluDual> {
 public:
  explicit ABRelu(const ActivationLayer& layer) : WithArrayLoop(layer.a, layer.b), a_(layer.a), b_(layer.b) {}
  double value(double x) const override { return x >= 0 ? b_ * x : a_ * x; }
  double derivative(double x) const override { return x > 0 ? b_ : a_; }

 private:
  double a_, b_;
};

// |x|
class Abs final : public WithArrayLoop<Abs, ABReluDual> {
 public:
  explicit Abs(const ActivationLayer&) : WithArrayLoop(-1, 1) {}
  double value(double x) const override { return std::abs(x); }
  double derivative(double x) const override { return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0); }
};

}  // namespace

const ActivationEntry& relu_entry() {
  static const ActivationEntry entry{
      {ActivationKind::Relu, "Relu", {{"do_stabilize", F::DoStabilize, 0.0}}}, nullptr, make_rules_of<Relu>};
  return entry;
}

const ActivationEntry& leaky_relu_entry() {
  static const ActivationEntry entry{
      {ActivationKind::LeakyRelu, "LeakyRelu", {{"alpha", F::Alpha, kRequired}, {"do_stabilize", F::DoStabilize, 0.0}}},
      nullptr,
      make_rules_of<LeakyRelu>};
  return entry;
}

const ActivationEntry& ab_relu_entry() {
  static const ActivationEntry entry{
      {ActivationKind::ABRelu,
       "ABRelu",
       {{"a", F::A, kRequired}, {"b", F::B, kRequired}, {"do_stabilize", F::DoStabilize, 0.0}}},
      nullptr,
      make_rules_of<ABRelu>};
  return entry;
}

const ActivationEntry& abs_entry() {
  static const ActivationEntry entry{
      {ActivationKind::Abs, "Abs", {{"do_stabilize", F::DoStabilize, 0.0}}}, nullptr, make_rules_of<Abs>};
  return entry;
}

}  // namespace ntkit::activations
