#include "ntkit/kernels.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <type_traits>
#include <numbers>
#include <sstream>
#include <vector>

#include "blas.hpp"
#include "input_checks.hpp"
#include "vector_math.hpp"
#include "ntkit/error.hpp"

namespace ntkit {
namespace {

using detail::atan2_array;
using detail::exp_array;
using Index = Eigen::Index;

// Side of the square tiles the symmetric case works on: a 128 x 128 tile of doubles is
// 128 KiB and stays in L2 while it is mapped and then mirrored into the lower triangle.
constexpr Index kTile = 128;

template <class T>
inline T integer_power(T base, int exponent) {
  T result = 1;
  while (exponent > 0) {  // square-and-multiply; exponent is loop-invariant so this vectorizes
    if (exponent & 1) result *= base;
    base *= base;
    exponent >>= 1;
  }
  return result;
}

// Applies the kernel's per-entry map to g[0..len): on entry g holds Gram values x_i·y_j, on
// exit kernel values. qi = ‖x_i‖², qj[j] = ‖y_j‖² (read only by RBF and arc-cosine).
template <class T>
void map_entries(const KernelSpec& spec, T* g, T qi, const T* qj, Index len) {
  constexpr T pi = std::numbers::pi_v<T>;
  constexpr T inv_pi = std::numbers::inv_pi_v<T>;
  switch (spec.kind) {
    case KernelKind::Linear: return;
    case KernelKind::Polynomial: {
      const T c = static_cast<T>(spec.c);
      const int p = spec.degree;
#pragma omp simd
      for (Index j = 0; j < len; ++j) g[j] = integer_power(c + g[j], p);
      return;
    }
    case KernelKind::Rbf: {
      const T minus_gamma = static_cast<T>(-spec.gamma);
#pragma omp simd
      for (Index j = 0; j < len; ++j) {
        // ‖x - y‖² from the Gram entry; rounding can make it slightly negative.
        const T d2 = std::max(qi + qj[j] - 2 * g[j], T(0));
        g[j] = minus_gamma * d2;
      }
      exp_array(g, g, static_cast<std::size_t>(len));
      return;
    }
    case KernelKind::ArcCos: {
      // With r² = ‖x‖²‖y‖², s = r sin θ and k = r cos θ the formulas need no division, so
      // zero-norm inputs give finite values by themselves (order 0 is handled explicitly).
      // Chunks keep s and θ on the stack, in L1, between the vectorized passes.
      constexpr Index kChunk = 256;
      alignas(64) T s[kChunk];
      alignas(64) T theta[kChunk];
      const int order = spec.order;
      for (Index j0 = 0; j0 < len; j0 += kChunk) {
        const Index m = std::min(kChunk, len - j0);
        T* gj = g + j0;
        const T* qjj = qj + j0;
#pragma omp simd
        for (Index j = 0; j < m; ++j) s[j] = std::sqrt(std::max(qi * qjj[j] - gj[j] * gj[j], T(0)));
        atan2_array(s, gj, theta, static_cast<std::size_t>(m));
        if (order == 0) {
#pragma omp simd
          for (Index j = 0; j < m; ++j) gj[j] = qi * qjj[j] > 0 ? 1 - theta[j] * inv_pi : T(0.5);
        } else if (order == 1) {
#pragma omp simd
          for (Index j = 0; j < m; ++j) gj[j] = (s[j] + (pi - theta[j]) * gj[j]) * inv_pi;
        } else {
#pragma omp simd
          for (Index j = 0; j < m; ++j) {
            const T k = gj[j];
            gj[j] = (3 * s[j] * k + (pi - theta[j]) * (qi * qjj[j] + 2 * k * k)) * inv_pi;
          }
        }
      }
      return;
    }
  }
}

bool needs_norms(KernelKind kind) { return kind == KernelKind::Rbf || kind == KernelKind::ArcCos; }

// Polynomial and arc-cosine order 2 grow like ‖x‖^(2p); in float32 that overflows early.
// Say so rather than write Inf.
template <class T>
void require_finite_output(const RowMatrix<T>& k, const KernelSpec& spec) {
  if (k.allFinite()) return;
  throw Error("kernel_matrix: the " + spec.describe() + " kernel overflows " +
              (std::is_same_v<T, float> ? std::string("float32") : std::string("float64")) +
              " for these inputs (values beyond " + std::to_string(std::numeric_limits<T>::max()) + "); rescale the inputs" +
              (std::is_same_v<T, float> ? " or use --dtype float64" : ""));
}

// RBF is translation-invariant, and ‖x‖² + ‖y‖² - 2x·y loses digits when the data sit far from
// the origin (float32: all of them). Centring both sets on X1's mean first costs O(nd).
template <class T>
RowMatrix<T> centred(const MatrixView<T>& x, const Eigen::Matrix<T, 1, Eigen::Dynamic>& centre) {
  return x.rowwise() - centre;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

template <class T>
RowMatrix<T> kernel_matrix_uncentred(const KernelSpec& spec, MatrixView<T> x1, MatrixView<T> x2);
template <class T>
RowMatrix<T> kernel_matrix_symmetric(const KernelSpec& spec, MatrixView<T> x);

}  // namespace

void KernelSpec::validate() const {
  std::ostringstream msg;
  switch (kind) {
    case KernelKind::Linear: return;
    case KernelKind::Polynomial:
      if (degree < 1 || degree > 64) msg << "polynomial kernel: degree must be an integer in [1, 64], got " << degree;
      else if (!std::isfinite(c)) msg << "polynomial kernel: c must be finite, got " << c;
      break;
    case KernelKind::Rbf:
      if (!(gamma > 0) || !std::isfinite(gamma)) msg << "rbf kernel: gamma must be a finite number > 0, got " << gamma;
      break;
    case KernelKind::ArcCos:
      if (order < 0 || order > 2) msg << "arccos kernel: order must be 0, 1 or 2, got " << order;
      break;
  }
  if (!msg.str().empty()) throw Error(msg.str());
}

std::string KernelSpec::describe() const {
  std::ostringstream out;
  out << kernel_kind_name(kind);
  switch (kind) {
    case KernelKind::Linear: break;
    case KernelKind::Polynomial: out << "(degree=" << degree << ", c=" << c << ")"; break;
    case KernelKind::Rbf: out << "(gamma=" << gamma << ")"; break;
    case KernelKind::ArcCos: out << "(order=" << order << ")"; break;
  }
  return out.str();
}

KernelKind parse_kernel_kind(std::string_view name) {
  const std::string n = lower(name);
  if (n == "linear") return KernelKind::Linear;
  if (n == "polynomial" || n == "poly") return KernelKind::Polynomial;
  if (n == "rbf" || n == "gaussian") return KernelKind::Rbf;
  if (n == "arccos" || n == "arc-cosine" || n == "arccosine") return KernelKind::ArcCos;
  throw Error("unknown kernel '" + std::string(name) + "'; choose one of: linear, polynomial, rbf, arccos");
}

const char* kernel_kind_name(KernelKind kind) {
  switch (kind) {
    case KernelKind::Linear: return "linear";
    case KernelKind::Polynomial: return "polynomial";
    case KernelKind::Rbf: return "rbf";
    case KernelKind::ArcCos: return "arccos";
  }
  return "?";
}

template <class T>
RowMatrix<T> kernel_matrix(const KernelSpec& spec, MatrixView<T> x1, MatrixView<T> x2) {
  spec.validate();
  if (x1.cols() != x2.cols()) {
    std::ostringstream msg;
    msg << "kernel_matrix: x1 has " << x1.cols() << " columns but x2 has " << x2.cols()
        << "; both inputs need the same number of features";
    throw Error(msg.str());
  }
  detail::require_finite_input(x1, "kernel_matrix", "x1");
  detail::require_finite_input(x2, "kernel_matrix", "x2");
  if (spec.kind == KernelKind::Rbf && x1.rows() > 0) {
    const Eigen::Matrix<T, 1, Eigen::Dynamic> centre = x1.colwise().mean();
    const RowMatrix<T> c1 = centred<T>(x1, centre), c2 = centred<T>(x2, centre);
    return kernel_matrix_uncentred<T>(spec, c1, c2);
  }
  return kernel_matrix_uncentred<T>(spec, x1, x2);
}

namespace {

template <class T>
RowMatrix<T> kernel_matrix_uncentred(const KernelSpec& spec, MatrixView<T> x1, MatrixView<T> x2) {
  RowMatrix<T> out;
  detail::gemm_abt<T>(x1, x2, out);
  if (spec.kind == KernelKind::Linear) return out;

  Vector<T> q1, q2;
  if (needs_norms(spec.kind)) {
    q1 = x1.rowwise().squaredNorm();
    q2 = x2.rowwise().squaredNorm();
  } else {  // unused, but map_entries takes a pointer
    q1.setZero(x1.rows());
    q2.setZero(x2.rows());
  }
  const Index n1 = out.rows(), n2 = out.cols();
  // Each row is mapped and checked for overflow while it is in cache (no second pass).
  bool finite = true;
#pragma omp parallel for schedule(static) reduction(&& : finite) if (n1 * n2 > 16384)
  for (Index i = 0; i < n1; ++i) {
    map_entries<T>(spec, out.row(i).data(), q1[i], q2.data(), n2);
    finite = finite && out.row(i).allFinite();
  }
  if (!finite) require_finite_output(out, spec);
  return out;
}

}  // namespace

template <class T>
RowMatrix<T> kernel_matrix(const KernelSpec& spec, MatrixView<T> x) {
  spec.validate();
  detail::require_finite_input(x, "kernel_matrix", "x");
  if (spec.kind == KernelKind::Rbf && x.rows() > 0) {
    const RowMatrix<T> c = centred<T>(x, x.colwise().mean());
    return kernel_matrix_symmetric<T>(spec, c);
  }
  return kernel_matrix_symmetric<T>(spec, x);
}

namespace {

template <class T>
RowMatrix<T> kernel_matrix_symmetric(const KernelSpec& spec, MatrixView<T> x) {
  RowMatrix<T> out;
  detail::syrk_upper<T>(x, out);
  const Index n = out.rows();
  // Squared norms from the Gram diagonal itself, so that k(x, x) sees exactly θ = 0.
  const Vector<T> q = out.diagonal();

  // Upper-triangle tiles (bi <= bj): map the tile, then mirror it into the lower triangle.
  const Index tiles = (n + kTile - 1) / kTile;
  std::vector<std::pair<Index, Index>> work;
  work.reserve(static_cast<std::size_t>(tiles * (tiles + 1) / 2));
  for (Index bi = 0; bi < tiles; ++bi)
    for (Index bj = bi; bj < tiles; ++bj) work.emplace_back(bi, bj);

  const Index count = static_cast<Index>(work.size());
  bool finite = true;
#pragma omp parallel for schedule(dynamic) reduction(&& : finite) if (n * n > 16384)
  for (Index w = 0; w < count; ++w) {
    const Index r0 = work[w].first * kTile, r1 = std::min(r0 + kTile, n);
    const Index c0 = work[w].second * kTile, c1 = std::min(c0 + kTile, n);
    const bool diagonal = r0 == c0;
    for (Index i = r0; i < r1; ++i) {
      const Index start = diagonal ? i : c0;
      map_entries<T>(spec, &out(i, start), q[i], q.data() + start, c1 - start);
      finite = finite && out.row(i).segment(start, c1 - start).allFinite();
    }
    for (Index i = r0; i < r1; ++i)
      for (Index j = diagonal ? i + 1 : c0; j < c1; ++j) out(j, i) = out(i, j);
  }
  if (!finite) require_finite_output(out, spec);
  return out;
}

}  // namespace

template <class T>
Vector<T> kernel_diagonal(const KernelSpec& spec, MatrixView<T> x) {
  spec.validate();
  detail::require_finite_input(x, "kernel_matrix", "x");
  Vector<T> q = x.rowwise().squaredNorm();
  Vector<T> out(q.size());
  for (Index i = 0; i < q.size(); ++i) {
    T g = q[i];
    map_entries<T>(spec, &g, q[i], &q[i], 1);
    out[i] = g;
  }
  return out;
}

template RowMatrix<double> kernel_matrix<double>(const KernelSpec&, MatrixView<double>, MatrixView<double>);
template RowMatrix<float> kernel_matrix<float>(const KernelSpec&, MatrixView<float>, MatrixView<float>);
template RowMatrix<double> kernel_matrix<double>(const KernelSpec&, MatrixView<double>);
template RowMatrix<float> kernel_matrix<float>(const KernelSpec&, MatrixView<float>);
template Vector<double> kernel_diagonal<double>(const KernelSpec&, MatrixView<double>);
template Vector<float> kernel_diagonal<float>(const KernelSpec&, MatrixView<float>);

}  // namespace ntkit
