// Squared-loss predictions from distributed kernels (private): the distributed counterparts of
// predict_mse, EnsemblePredictor and gp_inference (ntkit/predict.hpp), with the same formulas
// and the same choices between them, so that `mpirun ntkit predict` writes what the one-process
// tool writes. t = inf: ScaLAPACK's Cholesky (pdpotrf/pdpotrs); finite times: its symmetric
// eigendecomposition (pdsyevd); products with the test kernels: pdgemm. Only n x o and m x m /
// n x n outputs are gathered, on rank 0.
#pragma once

#include <vector>

#include "distributed_matrix.hpp"
#include "ntkit/kernel_dynamics.hpp"

namespace ntkit::distributed {

/// The kernel blocks of a run (absent ones default-constructed): K / Θ on (train, train),
/// (test, train) and (test, test).
struct DistributedKernels {
  DistributedMatrix train_nngp, train_ntk, test_nngp, test_ntk, test_test_nngp, test_test_ntk;
};

enum class PredictMode {
  Plain,       // outputs at the times from f0 (predict_mse); `ntk` picks Θ or K
  Ensemble,    // infinite ensemble, mean and covariance (EnsemblePredictor); `ntk`: all layers
  GpInfinity,  // the ensemble at t = inf of gradient flow (gp_inference 'ntk' / 'nngp')
  NtkGp,       // the GP posterior with Θ as prior (gp_inference 'ntkgp')
};

struct PredictRequest {
  PredictMode mode = PredictMode::Plain;
  bool ntk = true;
  std::vector<double> times;
  DynamicsOptions options;
  RowMatrixD targets, f0_train, f0_test;  // f0: empty for zero
};

/// One matrix per time (covariances only for the ensemble modes); on rank 0, empty elsewhere.
struct PredictOutputs {
  std::vector<RowMatrixD> train, test, train_cov, test_cov;
  double max_stable_learning_rate = 0;  // +inf when no eigenvalues were computed
};

/// Collective. Errors (a singular kernel at t = inf, a diverging learning rate, NaN in a
/// kernel read from disk) are AgreedErrors with the one-process tool's messages.
PredictOutputs predict(const DistributedKernels& kernels, const PredictRequest& request);

}  // namespace ntkit::distributed
