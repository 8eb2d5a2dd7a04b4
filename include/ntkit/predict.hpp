// Predictions and inference from NNGP / NTK matrices (docs/mathematics.md §4), with neural-tangents'
// conventions (neural_tangents/_src/predict.py): what training does, without training.
//
// - predict_mse: f(X) and f(X*) at a list of times for gradient flow, gradient descent and
//   momentum on the squared loss (kernel_dynamics.hpp; one eigendecomposition for all times).
// - EnsemblePredictor: an infinite ensemble of infinitely wide networks trained on the squared
//   loss (gradient_descent_mse_ensemble): mean and covariance over initializations, on test
//   and on train points. NNGP blocks K, K_*, K_**; NTK blocks Θ, Θ_*; with the training kernel
//   (Θ for 'ntk', all layers trained; K for 'nngp', the last layer only) and M_t, E_t of
//   kernel_dynamics.hpp (M_t = Θ⁻¹(I - E_t) for the unnormalized kernel):
//     ntk   mean = Θ_* M_t Y,  cov = K_** + Θ_* M_t K M_t Θ_*ᵀ - (Θ_* M_t K_*ᵀ + K_* M_t Θ_*ᵀ)
//           train: mean = (I - E_t) Y,  cov = E_t K E_t
//     nngp  mean = K_* M_t Y,  cov = K_** - K_* M_t (I + E_t) K_*ᵀ   (flow: M_t(I + E_t) = K⁻¹(I - e^(-2Kt)))
//           train: mean = (I - E_t) Y,  cov = K E_t²
//   t = ∞ is gp_inference (Cholesky). The covariance is one m x m matrix shared by all outputs
//   (the kernel is Θ ⊗ I over outputs). diag_reg regularizes the training kernel only; the K in
//   the middle of the ntk covariance is the NNGP as given, as in neural-tangents.
// - gp_inference: the posterior at t = ∞: 'nngp' (mean K_* K⁻¹ Y, cov K_** - K_* K⁻¹ K_*ᵀ), 'ntk'
//   (the ensemble above at t = ∞) and 'ntkgp' (the GP with the NTK as prior covariance:
//   mean Θ_* Θ⁻¹ Y, cov Θ_** - Θ_* Θ⁻¹ Θ_*ᵀ).
// - predict_ode: any loss (squared or softmax cross-entropy) by integrating the function-space
//   ODE df(X)/dt = -K ∇_f L, df(X*)/dt = -K_* ∇_f L with an adaptive Dormand–Prince 5(4) solver,
//   optionally with neural-tangents' continuous momentum.
// - max_learning_rate: 2 (1 + β) / λ_max(K) ('sum'), times Y.size for 'mean'.
#pragma once

#include <string_view>
#include <vector>

#include "ntkit/kernel_dynamics.hpp"
#include "ntkit/types.hpp"

namespace ntkit {

/// Outputs at several times: one matrix per time (n x o on train points, m x o on test points).
struct Trajectory {
  std::vector<RowMatrixD> train, test;
};

/// Squared-loss training predictions at every time in `times` (>= 0, +infinity allowed; steps
/// when options.learning_rate > 0). k_train: K(X, X) (n x n); k_test_train: K(X*, X) (m x n,
/// may have 0 rows); targets: n x o; f0_train / f0_test: initial outputs (empty: 0).
Trajectory predict_mse(MatrixView<double> k_train, MatrixView<double> k_test_train, MatrixView<double> targets,
                       const std::vector<double>& times, const DynamicsOptions& options = {}, const RowMatrixD& f0_train = {},
                       const RowMatrixD& f0_test = {});
/// The same from dynamics already built (training kernel, targets and options), for callers
/// that also use them (e.g. for the stable learning rate): still one eigendecomposition.
Trajectory predict_mse(const KernelDynamics& dynamics, MatrixView<double> k_test_train, const std::vector<double>& times,
                       const RowMatrixD& f0_train = {}, const RowMatrixD& f0_test = {});

/// Which layers the ensemble trains: all (the NTK drives training) or the last only (the NNGP).
enum class EnsembleKind { Ntk, Nngp };
EnsembleKind parse_ensemble_kind(std::string_view name);  // "ntk" | "nngp"

/// A Gaussian over outputs: mean (points x o) and one covariance (points x points) shared by
/// every output column (empty when not requested).
struct GaussianOutputs {
  RowMatrixD mean, covariance;
};

class EnsemblePredictor {
 public:
  /// nngp_train: K(X, X) (n x n); ntk_train: Θ(X, X) (n x n, may be empty for kind Nngp);
  /// targets n x o. One eigendecomposition of the training kernel.
  EnsemblePredictor(EnsembleKind kind, MatrixView<double> nngp_train, MatrixView<double> ntk_train,
                    MatrixView<double> targets, const DynamicsOptions& options = {});

  /// Test points: nngp_test_train K_* (m x n); ntk_test_train Θ_* (m x n, ignored for Nngp);
  /// nngp_test_test K_** (m x m, or empty for means only). One result per time.
  std::vector<GaussianOutputs> test(const std::vector<double>& times, MatrixView<double> nngp_test_train,
                                    MatrixView<double> ntk_test_train, const RowMatrixD& nngp_test_test) const;
  /// Training points (no regularization of the outputs themselves, as neural-tangents'
  /// x_test=None): mean and, with `covariance`, the n x n covariance.
  std::vector<GaussianOutputs> train(const std::vector<double>& times, bool covariance) const;

  const KernelDynamics& dynamics() const { return dyn_; }

 private:
  // M_t R (t = ∞: Θ⁻¹ R by Cholesky) and M_t (I + E_t) R, for the unnormalized training kernel.
  RowMatrixD gain_apply(double time, MatrixView<double> r, bool plus_decay) const;

  EnsembleKind kind_;
  RowMatrixD nngp_train_;
  KernelDynamics dyn_;  // over Θ (kind Ntk) or K (kind Nngp)
};

/// The posterior kinds of gp_inference.
enum class GpKind { Nngp, Ntk, NtkGp };
GpKind parse_gp_kind(std::string_view name);  // "nngp" | "ntk" | "ntkgp"

/// NNGP and NTK blocks of one pair of point sets; a block not needed may be empty.
struct KernelPair {
  RowMatrixD nngp, ntk;
};

/// GP inference at t = ∞ on test points (neural-tangents' gp_inference). train: K, Θ (n x n);
/// test_train: K_*, Θ_* (m x n); test_test: K_** for nngp/ntk, Θ_** for ntkgp (m x m), or both
/// empty for means only. diag_reg regularizes the training kernel that is inverted.
GaussianOutputs gp_inference(GpKind kind, const KernelPair& train, const KernelPair& test_train, const KernelPair& test_test,
                             MatrixView<double> targets, const DynamicsOptions& options = {});

/// The loss of predict_ode. Softmax cross-entropy: L = -Σ_i Σ_c y_ic log softmax(f_i)_c
/// ('sum'), divided by Y.size for 'mean' (neural-tangents' example loss -mean(log_softmax(f)·y)).
enum class OdeLoss { SquaredError, SoftmaxCrossEntropy };

struct OdeOptions {
  OdeLoss loss = OdeLoss::SoftmaxCrossEntropy;
  LossNormalization normalization = LossNormalization::Sum;
  /// Time unit, as neural-tangents' gradient_descent: absolute time = learning_rate · t
  /// (√learning_rate · t with momentum).
  double learning_rate = 1.0;
  /// Continuous heavy-ball momentum β in [0, 1) (0: plain gradient flow): in absolute time τ,
  /// d²f/dτ² = -K ∇L - ((1 - β) / √η) df/dτ, f'(0) = 0 (neural-tangents' ODE).
  double momentum = 0.0;
  double relative_tolerance = 1e-8, absolute_tolerance = 1e-10;
  long max_steps = 1000000;  // a stiff problem that needs more steps is a clear error
};

/// Function-space training with any loss by an adaptive Dormand–Prince 5(4) integrator.
/// k_train (n x n), k_test_train (m x n, may have 0 rows), targets n x o, times finite and >= 0.
Trajectory predict_ode(MatrixView<double> k_train, MatrixView<double> k_test_train, MatrixView<double> targets,
                       const std::vector<double>& times, const OdeOptions& options = {}, const RowMatrixD& f0_train = {},
                       const RowMatrixD& f0_test = {});

/// The largest stable learning rate of (momentum) gradient descent on the squared loss:
/// 2 (1 + β) / λ_max(K) for 'sum', times y_size (= Y.size) for 'mean' (neural-tangents'
/// max_learning_rate). ntk_train: n x n symmetric.
double max_learning_rate(MatrixView<double> ntk_train, LossNormalization normalization, Eigen::Index y_size,
                         double momentum = 0.0);

}  // namespace ntkit
