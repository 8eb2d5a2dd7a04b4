// Infinite-width NNGP and NTK of deep fully-connected networks (docs/mathematics.md §5–§6), with
// neural-tangents' conventions, for any network of network.hpp: Dense, elementwise
// activations, LayerNorm, Identity and residual branches (FanOut / parallel / FanInSum).
//
// Kernel state per pair (x, x'): K (NNGP) and Θ (NTK), and the variances q1 = K(x, x),
// q2 = K(x', x') that activations and LayerNorm need.
//   input          K = x·x' / d,  Θ = 0
//   Dense 'ntk'    K ← W_std² K + b_std²,        Θ ← W_std² Θ + K_new
//   Dense 'std.'   Θ ← n_in K_old + W_std² Θ + [1 if the bias exists],  K ← W_std² K_old + b_std²
//   activation φ   K ← T(q1, q2, K),  Θ ← Θ · Ṫ(q1, q2, K)   (dual_activation.hpp)
//   LayerNorm      K ← K / √((q1 + eps)(q2 + eps)),  Θ ← Θ / √((q1 + eps)(q2 + eps))
//                  (the feature mean of an infinitely wide Gaussian layer is 0; as
//                  neural-tangents' stax.LayerNorm; with eps = 0 a zero-variance side gives 0)
//   FanOut(n)      n copies of the state;  parallel: branch i on copy i;  FanInSum: the sum
//
// Fixed layers (AnalyticOptions::fixed_layers = L'): the NTK of the network whose first L'
// Dense layers (in the order they are written) keep their initial parameters and only the
// later ones are trained (Arora et al. 2020, "Harnessing the power of infinitely wide deep
// nets on small-data tasks"). Θ is the sum over trained parameters of ∂f ∂f', so a fixed
// Dense drops its own term and only carries the earlier ones forward:
//   fixed Dense    Θ ← W_std² Θ        (both parameterizations; K as above)
// L' = 0 is the usual NTK; for a plain MLP, L' = (Dense count − 1) leaves only the readout
// trained and Θ equals the NNGP.
//
// How it is computed: the variances come from one diagonal pass per input point through the
// same layers; then, panel of rows by panel of rows, BLAS writes the Gram matrix X1·X2ᵀ into
// the output itself and every layer is applied pair by pair, in chunks that stay in cache
// (no n × n temporary per layer, no extra n × n buffer). K(X, X) computes one triangle and is
// exactly symmetric, and its diagonal entries see exactly ρ = 1.
// float32 inputs: the Gram matrix and the outputs are float32; the per-pair recursion runs in
// float64 (deep networks lose no digits to it), so results are float32 roundings of nearly the
// float64 results, apart from the float32 Gram's own rounding (relative ~1e-7·√d).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "ntkit/io.hpp"
#include "ntkit/network.hpp"
#include "ntkit/types.hpp"

namespace ntkit {

template <class T>
struct AnalyticKernelsOf {
  RowMatrix<T> nngp;  // n1 x n2 (empty if not requested)
  RowMatrix<T> ntk;   // n1 x n2 (empty if not requested)
};
using AnalyticKernels = AnalyticKernelsOf<double>;

/// K(x, x) and Θ(x, x) for each point (empty if not requested).
struct AnalyticDiagonal {
  VectorD nngp, ntk;
};

struct AnalyticOptions {
  bool nngp = true;
  bool ntk = true;
  /// For activations without a closed form (Tanh, Softplus, Elu, Selu, Silu): 0 = a trapezoid
  /// rule adapted to each entry (accurate, see dual_activation.hpp); N = N-point Gauss–Hermite.
  int quadrature_degree = 0;
  /// Called now and then on the calling thread with the fraction of the work done, ending
  /// with 1. Must not throw.
  std::function<void(double)> progress;
  /// The first fixed_layers Dense layers (in the order they are written) are not trained: they
  /// contribute no term of their own to the NTK (see the file comment). 0 ≤ fixed_layers <
  /// the number of Dense layers (at least the last one is trained). The NNGP does not change.
  int fixed_layers = 0;
  /// Rows of the output computed per panel (BLAS Gram product, then the layers). 0: all rows
  /// at once in memory, and about 1 GiB of output per panel for the .npy writer.
  Eigen::Index panel_rows = 0;
  /// The shape of one example without the batch axis, for networks with convolutional layers:
  /// {H, W, C} for images (each row of x is one image flattened in C order, i.e. NHWC data),
  /// {L, C} for 1-D signals. Empty (or {d}): flat inputs of d features. Its product must equal
  /// the number of columns of x.
  std::vector<int> input_shape;
};

/// NNGP and NTK between X1 (n1 x d) and X2 (n2 x d). Throws ntkit::Error for an invalid or
/// unsupported network, mismatched or non-finite inputs.
AnalyticKernels analytic_kernels(const Network& network, MatrixView<double> x1, MatrixView<double> x2,
                                 const AnalyticOptions& options = {});
/// K(X, X), exactly symmetric.
AnalyticKernels analytic_kernels(const Network& network, MatrixView<double> x, const AnalyticOptions& options = {});
/// float32 inputs and outputs (see the file comment).
AnalyticKernelsOf<float> analytic_kernels(const Network& network, MatrixView<float> x1, MatrixView<float> x2,
                                          const AnalyticOptions& options = {});
AnalyticKernelsOf<float> analytic_kernels(const Network& network, MatrixView<float> x, const AnalyticOptions& options = {});

/// K(x, x) and Θ(x, x) for every row of X: O(n · depth), no Gram matrix.
AnalyticDiagonal analytic_kernel_diagonal(const Network& network, MatrixView<double> x, const AnalyticOptions& options = {});

/// Where write_analytic_kernels_npy puts each kernel; an empty path: not computed.
struct AnalyticOutputFiles {
  std::string nngp, ntk;
};

/// Computes the kernels straight into .npy files of dtype float32 or float64, panel by panel
/// through memory-mapped files, so a kernel larger than memory can be written (n = 100 000 in
/// float32 is 40 GB). Each file appears only when complete (atomically), and with both paths
/// given neither is renamed into place before both are written (as an OutputSet, io.hpp); on
/// any error nothing is left behind. x2 == nullptr: K(X1, X1), symmetric. The nngp/ntk flags of
/// `options` are ignored (the non-empty paths decide).
void write_analytic_kernels_npy(const Network& network, MatrixView<double> x1, const MatrixView<double>* x2, DType dtype,
                                const AnalyticOutputFiles& files, AnalyticOptions options = {});

}  // namespace ntkit
