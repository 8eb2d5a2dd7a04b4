// What one activation knows, behind one interface: φ and φ' for finite networks, and the dual
// T(q1, q2, k) = E[φ(u)φ(v)], Ṫ = E[φ'(u)φ'(v)] for infinite ones (docs/mathematics.md §5).
// Each family file of this folder implements it for its activations; DualActivation calls dual()
// once per chunk of entries, PointwiseActivation value() and derivative() once per entry.
#pragma once

#include <cstddef>

namespace ntkit::activations {

// The largest chunk dual() is given: scratch lives on the stack in arrays of this size
// (≈ 2 KiB each), so the engines' calls are reentrant and allocation-free.
inline constexpr std::size_t kChunk = 256;

class ActivationRules {
 public:
  virtual ~ActivationRules() = default;

  // φ(x) and φ'(x) of one value (finite width). Derivatives at kinks take the right-hand value
  // for x > 0 and the left-hand one otherwise (see pointwise_activation.hpp).
  virtual double value(double x) const = 0;
  virtual double derivative(double x) const = 0;

  // t[i] = T(q1[i], q2[i], k[i]) and, unless tdot is null, tdot[i] = Ṫ(…) for i < n ≤ kChunk.
  // The inputs never alias the outputs here (DualActivation copies each chunk first).
  virtual void dual(const double* q1, const double* q2, const double* k, double* t, double* tdot, std::size_t n) const = 0;

  // False for the activations whose dual is a quadrature (Tanh, Softplus, Silu, Elu, Selu).
  virtual bool has_closed_form() const { return true; }

  // f[i] = φ(x[i]) unless f is null, df[i] = φ'(x[i]) unless df is null, for i < n (f and df
  // may alias x). This default makes a virtual call per value; WithArrayLoop below does better.
  virtual void pointwise(const double* x, double* f, double* df, std::size_t n) const {
    for (std::size_t i = 0; i < n; ++i) {
      const double xi = x[i];
      if (df) df[i] = derivative(xi);
      if (f) f[i] = value(xi);
    }
  }
};

// A family class derived as `class Tanh final : public WithArrayLoop<Tanh, SmoothQuadrature>`
// gets pointwise() as one loop over its own value() and derivative(), which the compiler
// inlines (the calls name Self's functions): the two-layer network's training applies σ to
// n × m matrices, and two virtual calls per entry cost it ~10% there. Same arithmetic, so the
// same bits as value() and derivative().
template <class Self, class Base = ActivationRules>
class WithArrayLoop : public Base {
 public:
  using Base::Base;
  void pointwise(const double* x, double* f, double* df, std::size_t n) const final {
    const Self& self = static_cast<const Self&>(*this);
    if (f && df) {
      for (std::size_t i = 0; i < n; ++i) {
        const double xi = x[i];
        df[i] = self.Self::derivative(xi);
        f[i] = self.Self::value(xi);
      }
    } else if (f) {
      for (std::size_t i = 0; i < n; ++i) f[i] = self.Self::value(x[i]);
    } else if (df) {
      for (std::size_t i = 0; i < n; ++i) df[i] = self.Self::derivative(x[i]);
    }
  }
};

}  // namespace ntkit::activations
