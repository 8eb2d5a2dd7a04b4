// ntkit predict: what training a network does, predicted from its NNGP / NTK (docs/mathematics.md §4) —
// outputs on train and test points at a list of times, or with --ensemble the mean and
// covariance over initializations (infinite ensemble), for the squared loss (closed form) or
// softmax cross-entropy (adaptive ODE solver).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <limits>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli_support.hpp"
#include "commands.hpp"
#include "ntkit/analytic.hpp"
#include "ntkit/error.hpp"
#include "ntkit/network.hpp"
#include "ntkit/predict.hpp"

#ifdef NTKIT_WITH_MPI
#include "distributed/distributed_npy.hpp"
#include "distributed/distributed_predict.hpp"
#include "distributed/mpi_session.hpp"
#include "mpi_commands.hpp"
#endif

namespace ntkit::cli {
namespace {

struct PredictCommand {
  std::string arch, kernels_dir, test, times = "0,1,10,inf", get = "ntk", loss = "sum", objective = "mse", out;
  std::vector<std::string> train, f0;
  double lr = 0.0, momentum = 0.0, diag_reg = 0.0;
  bool diag_reg_absolute = false, ensemble = false;
  int fixed_layers = 0;
  int block_size = kDefaultBlockSize;
  const CLI::Option* fixed_layers_option = nullptr;
};

void require_shape(const RowMatrixD& m, Eigen::Index rows, Eigen::Index cols, const std::string& what,
                   const std::string& fix) {
  if (m.rows() != rows || m.cols() != cols) {
    throw Error(what + ": is " + std::to_string(m.rows()) + " x " + std::to_string(m.cols()) + ", expected " +
                std::to_string(rows) + " x " + std::to_string(cols) + "; " + fix);
  }
}

// The kernel blocks a run needs: train (n x n), test-train (m x n), test-test (m x m: the NNGP
// for an ensemble's covariance, the NTK for the NTK-GP posterior's).
struct Blocks {
  KernelPair train, test_train, test_test;
};

// Which kernel blocks a run reads.
struct Needs {
  bool nngp = false, ntk = false, nngp_test_test = false, ntk_test_test = false;
};

// --kernels DIR: the files `ntkit kernel --arch ... --get both` writes (see --help).
RowMatrixD load_kernel(const std::string& dir, const std::string& name) {
  const std::string path = (std::filesystem::path(dir) / name).string();
  if (!std::filesystem::exists(path))
    throw Error("--kernels: " + path + " does not exist; the layout is described in ntkit predict --help");
  return load_matrix(path);
}

Blocks kernels_from_dir(const PredictCommand& cmd, const Needs& need) {
  Blocks b;
  if (need.nngp) {
    b.train.nngp = load_kernel(cmd.kernels_dir, "train.nngp.npy");
    b.test_train.nngp = load_kernel(cmd.kernels_dir, "test.nngp.npy");
  }
  if (need.ntk) {
    b.train.ntk = load_kernel(cmd.kernels_dir, "train.ntk.npy");
    b.test_train.ntk = load_kernel(cmd.kernels_dir, "test.ntk.npy");
  }
  if (need.nngp_test_test) b.test_test.nngp = load_kernel(cmd.kernels_dir, "test_test.nngp.npy");
  if (need.ntk_test_test) b.test_test.ntk = load_kernel(cmd.kernels_dir, "test_test.ntk.npy");
  return b;
}

// The files of a run (see --help): every file or none; the directory is created by the commit.
// `mpi`: the summary's "mpi" entry as JSON text (empty: none).
void write_outputs(const PredictCommand& cmd, const std::vector<double>& times, const std::vector<RowMatrixD>& train_out,
                   const std::vector<RowMatrixD>& test_out, const std::vector<RowMatrixD>& train_cov,
                   const std::vector<RowMatrixD>& test_cov, double max_lr, Eigen::Index n, Eigen::Index m, Eigen::Index o,
                   const std::string& mpi) {
  const bool ce = cmd.objective == "cross-entropy";
  const bool gp = cmd.get == "ntkgp";
  OutputSet outputs;  // every file or none; the directory is created by the commit
  outputs.create_directory(cmd.out);
  const std::filesystem::path dir(cmd.out);
  outputs.add_npy_stack((dir / "train.npy").string(), train_out);
  outputs.add_npy_stack((dir / "test.npy").string(), test_out);
  if (cmd.ensemble) {
    outputs.add_npy_stack((dir / "train_cov.npy").string(), train_cov);
    outputs.add_npy_stack((dir / "test_cov.npy").string(), test_cov);
  }
  RowMatrixD tcol(static_cast<Eigen::Index>(times.size()), 1);
  for (std::size_t i = 0; i < times.size(); ++i) tcol(static_cast<Eigen::Index>(i), 0) = times[i];
  outputs.add_matrix((dir / "times.npy").string(), tcol, DType::Float64, true);
  nlohmann::json summary = {{"get", cmd.get},
                            {"objective", cmd.objective},
                            {"loss", cmd.loss},
                            {"learning_rate", cmd.lr},
                            {"momentum", cmd.momentum},
                            {"diag_reg", cmd.diag_reg},
                            {"diag_reg_absolute", cmd.diag_reg_absolute},
                            {"ensemble", cmd.ensemble},
                            {"train_points", n},
                            {"test_points", m},
                            {"outputs", o}};
  // JSON has no infinity: the times are in times.npy; here only the stable rate, when defined.
  if (!ce && !gp && std::isfinite(max_lr)) summary["max_stable_learning_rate"] = max_lr;
  if (!mpi.empty()) summary["mpi"] = nlohmann::json::parse(mpi);
  outputs.add_file((dir / "summary.json").string(), summary.dump(2) + "\n");
  outputs.commit();
}

#ifdef NTKIT_WITH_MPI
// Under mpirun: the kernel blocks computed (or read) by every rank into the block-cyclic
// layout, the predictions by ScaLAPACK (distributed_predict.hpp), the outputs gathered and
// written by rank 0.
void run_distributed(const PredictCommand& cmd, const std::vector<double>& times, const RowMatrixD& y,
                     const Examples& train_examples, const Examples& test_examples, const Needs& need) {
  namespace dist = ntkit::distributed;
  if (cmd.objective == "cross-entropy") throw_not_distributed("--objective cross-entropy (an ODE solver)");
  if (cmd.block_size < 1) throw Error("--block-size: must be >= 1, got " + std::to_string(cmd.block_size));
  const RowMatrixD& x = train_examples.x;
  const RowMatrixD& xt = test_examples.x;
  RowMatrixD f0, f0t;
  if (cmd.f0.size() == 2) {
    f0 = load_matrix(cmd.f0[0]);
    f0t = load_matrix(cmd.f0[1]);
  }
  std::unique_ptr<Network> network;
  AnalyticOptions options;
  if (!cmd.arch.empty()) {
    network = std::make_unique<Network>(parse_network(cmd.arch));
    options.fixed_layers = cmd.fixed_layers;
    options.input_shape = train_examples.input_shape();
  }
  require_same_inputs({&x, &xt, &y, &f0, &f0t}, {"--train " + cmd.train.front(), "--test " + cmd.test,
                                                 "--train " + cmd.train.back(), "--f0 (train)", "--f0 (test)"});
  const dist::ProcessGrid grid;
  const int block = cmd.block_size;
  dist::DistributedKernels k;
  if (network) {
    // One block function per set of kernels: NNGP first, then NTK, as asked.
    const auto kernels_of = [&](bool nngp, bool ntk) -> dist::BlockKernels {
      AnalyticOptions o = options;
      o.nngp = nngp;
      o.ntk = ntk;
      const Network& net = *network;
      return [&net, o](MatrixView<double> rows, const MatrixView<double>* cols) {
        AnalyticKernels a = cols == nullptr ? analytic_kernels(net, rows, o) : analytic_kernels(net, rows, *cols, o);
        std::vector<RowMatrixD> out;
        if (o.nngp) out.push_back(std::move(a.nngp));
        if (o.ntk) out.push_back(std::move(a.ntk));
        return out;
      };
    };
    const int count = static_cast<int>(need.nngp) + static_cast<int>(need.ntk);
    std::vector<dist::DistributedMatrix> train = dist::compute_kernels(grid, block, x, nullptr, count,
                                                                       kernels_of(need.nngp, need.ntk));
    const MatrixView<double> x_view(x);
    std::vector<dist::DistributedMatrix> test = dist::compute_kernels(grid, block, xt, &x_view, count,
                                                                      kernels_of(need.nngp, need.ntk));
    if (need.nngp) {
      k.train_nngp = std::move(train.front());
      k.test_nngp = std::move(test.front());
    }
    if (need.ntk) {
      k.train_ntk = std::move(train.back());
      k.test_ntk = std::move(test.back());
    }
    if (need.nngp_test_test || need.ntk_test_test) {
      std::vector<dist::DistributedMatrix> tt = dist::compute_kernels(grid, block, xt, nullptr, 1,
                                                                      kernels_of(need.nngp_test_test, need.ntk_test_test));
      (need.nngp_test_test ? k.test_test_nngp : k.test_test_ntk) = std::move(tt.front());
    }
  } else {
    const auto read = [&](const std::string& name) {
      const std::string path = (std::filesystem::path(cmd.kernels_dir) / name).string();
      return dist::read_npy(grid, path, block, "--kernels " + path);
    };
    if (need.nngp) {
      k.train_nngp = read("train.nngp.npy");
      k.test_nngp = read("test.nngp.npy");
    }
    if (need.ntk) {
      k.train_ntk = read("train.ntk.npy");
      k.test_ntk = read("test.ntk.npy");
    }
    if (need.nngp_test_test) k.test_test_nngp = read("test_test.nngp.npy");
    if (need.ntk_test_test) k.test_test_ntk = read("test_test.ntk.npy");
  }
  // Shapes: the same on every rank (inputs and file headers were compared).
  const Eigen::Index n = y.rows(), o = y.cols();
  const bool ntk = cmd.get != "nngp";
  const dist::DistributedMatrix& k_test = ntk ? k.test_ntk : k.test_nngp;
  const Eigen::Index m = xt.size() != 0 ? xt.rows() : k_test.rows();
  const std::string kname = cmd.kernels_dir.empty() ? "--arch" : "--kernels " + cmd.kernels_dir;
  const std::string fix = "the kernels, --train and --test must describe the same points";
  // (For distributed matrices and for the inputs every rank holds alike.)
  const auto require = [](const auto& a, Eigen::Index rows, Eigen::Index cols, const std::string& what,
                          const std::string& how) {
    if (a.rows() != rows || a.cols() != cols)
      throw dist::AgreedError(what + ": is " + std::to_string(a.rows()) + " x " + std::to_string(a.cols()) + ", expected " +
                              std::to_string(rows) + " x " + std::to_string(cols) + "; " + how);
  };
  require(ntk ? k.train_ntk : k.train_nngp, n, n, kname + " K(X, X) (" + cmd.get + ")", fix);
  require(k_test, m, n, kname + " K(X*, X) (" + cmd.get + ")", fix);
  if (need.nngp) {
    require(k.train_nngp, n, n, kname + " NNGP K(X, X)", fix);
    require(k.test_nngp, m, n, kname + " NNGP K(X*, X)", fix);
  }
  if (need.nngp_test_test) require(k.test_test_nngp, m, m, kname + " NNGP K(X*, X*)", fix);
  if (need.ntk_test_test) require(k.test_test_ntk, m, m, kname + " NTK K(X*, X*)", fix);
  if (cmd.f0.size() == 2) {
    require(f0, n, o, "--f0 " + cmd.f0[0], "one initial output row per training point, one column per target");
    require(f0t, m, o, "--f0 " + cmd.f0[1], "one initial output row per test point, one column per target");
  }

  dist::PredictRequest request;
  request.ntk = ntk;
  request.times = times;
  request.targets = y;
  request.f0_train = f0;
  request.f0_test = f0t;
  request.options.normalization = parse_loss_normalization(cmd.loss);
  request.options.diag_reg = cmd.diag_reg;
  request.options.diag_reg_absolute = cmd.diag_reg_absolute;
  request.options.learning_rate = cmd.lr;
  request.options.momentum = cmd.momentum;
  const bool all_inf = std::all_of(times.begin(), times.end(), [](double t) { return std::isinf(t); });
  if (cmd.get == "ntkgp") request.mode = dist::PredictMode::NtkGp;
  else if (cmd.ensemble && cmd.lr == 0 && all_inf) request.mode = dist::PredictMode::GpInfinity;
  else if (cmd.ensemble) request.mode = dist::PredictMode::Ensemble;
  else request.mode = dist::PredictMode::Plain;
  const dist::PredictOutputs out = dist::predict(k, request);
  dist::on_every_rank([&] {
    if (!is_root_rank()) return;
    write_outputs(cmd, times, out.train, out.test, out.train_cov, out.test_cov, out.max_stable_learning_rate, n, m, o,
                  distributed_summary(block));
  });
}
#endif

void run(const PredictCommand& cmd) {
  const std::vector<double> times = parse_times(cmd.times);
  if (cmd.arch.empty() == cmd.kernels_dir.empty())
    throw Error("give exactly one of --arch SPEC (compute the kernels) or --kernels DIR (precomputed)");
  if (cmd.get != "ntk" && cmd.get != "nngp" && cmd.get != "ntkgp")
    throw Error("--get: unknown value '" + cmd.get +
                "'; choose ntk (all layers trained), nngp (last layer only) or ntkgp (with --ensemble at --time inf: "
                "the GP posterior with the NTK as prior covariance)");
  if (cmd.objective != "mse" && cmd.objective != "cross-entropy")
    throw Error("--objective: unknown value '" + cmd.objective + "'; choose mse or cross-entropy");
  const bool ce = cmd.objective == "cross-entropy";
  if (ce && cmd.ensemble)
    throw Error("--ensemble: infinite ensembles are for the squared loss only; drop --ensemble or use --objective mse");
  if (!(cmd.lr >= 0) || !std::isfinite(cmd.lr)) throw Error("--lr: must be a finite number > 0");
  if (!(cmd.momentum >= 0 && cmd.momentum < 1)) throw Error("--momentum: must be in [0, 1)");
  if (cmd.momentum > 0 && cmd.lr == 0) throw Error("--momentum: needs a learning rate; give --lr");
  if (!(cmd.diag_reg >= 0) || !std::isfinite(cmd.diag_reg)) throw Error("--diag-reg: must be a finite number >= 0");
  if (ce && cmd.diag_reg > 0) throw Error("--diag-reg: not used by --objective cross-entropy (no inverse is taken)");
  if (cmd.train.size() != 2 && !(cmd.train.size() == 1 && !cmd.kernels_dir.empty()))
    throw Error("--train: give X.npy Y.npy (or only Y.npy with --kernels)");
  if (cmd.test.empty() && cmd.arch.size() > 0) throw Error("--test: required with --arch");
  if (cmd.f0.size() != 0 && cmd.f0.size() != 2) throw Error("--f0: give F0_TRAIN.npy F0_TEST.npy");
  if (cmd.f0.size() == 2 && cmd.ensemble)
    throw Error("--f0: an ensemble averages over initial outputs; drop --f0 or --ensemble");
  check_output_directory(cmd.out, "-o");
  if (cmd.fixed_layers_option->count() > 0) {
    if (cmd.arch.empty())
      throw Error(
          "--fixed-layers: applies to kernels computed from --arch; for --kernels DIR compute them with "
          "`ntkit kernel --fixed-layers`");
    if (cmd.get == "nngp")
      throw Error("--fixed-layers: fixing layers changes only the NTK; --get nngp trains the readout alone already");
    const int dense = dense_layer_count(parse_network(cmd.arch));
    if (cmd.fixed_layers < 0 || cmd.fixed_layers >= dense)
      throw Error("--fixed-layers: " + std::to_string(cmd.fixed_layers) + " but --arch has " + std::to_string(dense) +
                  " Dense layers; give 0 (all trained) to " + std::to_string(dense - 1) + " (only the last trained)");
  }
  // The NTK-GP posterior (gp_inference 'ntkgp') is Bayesian inference with Θ as the prior
  // covariance, not a training run: a Gaussian, at t = inf only, with no rate or loss scale.
  const bool gp = cmd.get == "ntkgp";
  if (gp) {
    if (!cmd.ensemble) throw Error("--get ntkgp: the NTK-GP posterior is a Gaussian (mean and covariance); add --ensemble");
    for (const double t : times)
      if (!std::isinf(t))
        throw Error("--get ntkgp: the NTK-GP posterior exists only at t = inf (it is not a training run); give --time inf");
    if (cmd.lr > 0 || cmd.momentum > 0)
      throw Error("--get ntkgp: the posterior has no learning rate or momentum; drop --lr and --momentum");
    if (cmd.loss != "sum")
      throw Error(
          "--get ntkgp: --loss does not apply to the posterior (its mean and covariance do not depend on the kernel's "
          "scale); drop --loss");
  }

  // Inputs and targets.
  const std::string y_path = cmd.train.back();
  const RowMatrixD y = load_matrix(y_path);
  const Eigen::Index n = y.rows(), o = y.cols();
  // Inputs: rows of features, or images / signals whose shape --arch's Conv and pooling layers see.
  Examples train_examples, test_examples;
  RowMatrixD& x = train_examples.x;
  RowMatrixD& xt = test_examples.x;
  if (cmd.train.size() == 2) {
    train_examples = load_examples(cmd.train[0]);
    if (x.rows() != n)
      throw Error(y_path + ": has " + std::to_string(n) + " rows but --train " + cmd.train[0] + " has " +
                  std::to_string(x.rows()) + "; need one target row per training input");
  }
  if (!cmd.test.empty()) {
    test_examples = load_examples(cmd.test);
    if (x.size() != 0) require_same_example_shape(train_examples, "--train " + cmd.train[0], test_examples, cmd.test);
  }

  // Kernels: the NNGP is needed for --get nngp and for any ensemble covariance (and the ntk
  // ensemble's covariance uses both); the NTK-GP posterior needs only NTK blocks, Θ(X*, X*)
  // included.
  const bool ntk = cmd.get != "nngp";
  Needs need;
  need.nngp = !gp && (!ntk || cmd.ensemble);
  need.ntk = ntk;
  need.nngp_test_test = cmd.ensemble && !gp;
  need.ntk_test_test = gp;
#ifdef NTKIT_WITH_MPI
  if (distributed_run()) return run_distributed(cmd, times, y, train_examples, test_examples, need);
#endif
  Blocks b;
  if (!cmd.arch.empty()) {
    const Network network = parse_network(cmd.arch);
    AnalyticOptions options;
    options.fixed_layers = cmd.fixed_layers;
    options.input_shape = train_examples.input_shape();
    options.nngp = need.nngp;
    options.ntk = need.ntk;
    AnalyticKernels train = analytic_kernels(network, x, options);
    AnalyticKernels test = analytic_kernels(network, xt, x, options);
    b.train = {std::move(train.nngp), std::move(train.ntk)};
    b.test_train = {std::move(test.nngp), std::move(test.ntk)};
    if (need.nngp_test_test || need.ntk_test_test) {
      options.nngp = need.nngp_test_test;
      options.ntk = need.ntk_test_test;
      AnalyticKernels test_test = analytic_kernels(network, xt, options);
      b.test_test = {std::move(test_test.nngp), std::move(test_test.ntk)};
    }
  } else {
    b = kernels_from_dir(cmd, need);
  }
  const RowMatrixD& k_train = ntk ? b.train.ntk : b.train.nngp;
  const RowMatrixD& k_test = ntk ? b.test_train.ntk : b.test_train.nngp;
  const std::string kname = cmd.kernels_dir.empty() ? "--arch" : "--kernels " + cmd.kernels_dir;
  const std::string fix = "the kernels, --train and --test must describe the same points";
  require_shape(k_train, n, n, kname + " K(X, X) (" + cmd.get + ")", fix);
  const Eigen::Index m = xt.size() != 0 ? xt.rows() : k_test.rows();
  require_shape(k_test, m, n, kname + " K(X*, X) (" + cmd.get + ")", fix);
  if (need.nngp) {
    require_shape(b.train.nngp, n, n, kname + " NNGP K(X, X)", fix);
    require_shape(b.test_train.nngp, m, n, kname + " NNGP K(X*, X)", fix);
  }
  if (need.nngp_test_test) require_shape(b.test_test.nngp, m, m, kname + " NNGP K(X*, X*)", fix);
  if (need.ntk_test_test) require_shape(b.test_test.ntk, m, m, kname + " NTK K(X*, X*)", fix);
  RowMatrixD f0, f0t;
  if (cmd.f0.size() == 2) {
    f0 = load_matrix(cmd.f0[0]);
    f0t = load_matrix(cmd.f0[1]);
    require_shape(f0, n, o, "--f0 " + cmd.f0[0], "one initial output row per training point, one column per target");
    require_shape(f0t, m, o, "--f0 " + cmd.f0[1], "one initial output row per test point, one column per target");
  }

  DynamicsOptions options;
  options.normalization = parse_loss_normalization(cmd.loss);
  options.diag_reg = cmd.diag_reg;
  options.diag_reg_absolute = cmd.diag_reg_absolute;
  options.learning_rate = cmd.lr;
  options.momentum = cmd.momentum;

  // Compute everything before writing anything, so an error leaves no output behind.
  std::vector<RowMatrixD> train_out, test_out, train_cov, test_cov;
  double max_lr = 0;
  if (ce) {
    OdeOptions ode;
    ode.normalization = options.normalization;
    if (cmd.lr > 0) ode.learning_rate = cmd.lr;
    ode.momentum = cmd.momentum;
    for (const double t : times)
      if (std::isinf(t))
        throw Error("--time: cross-entropy training has no t = inf limit (the logits grow without bound); give finite times");
    Trajectory tr = predict_ode(k_train, k_test, y, times, ode, f0, f0t);
    train_out = std::move(tr.train);
    test_out = std::move(tr.test);
  } else if (gp) {
    // Test points: gp_inference. Training points: the same posterior with the training set as
    // the test set (Θ_* = Θ_** = Θ, unregularized): Y and 0 up to rounding without diag_reg,
    // the smoothed fit Θ (Θ + rI)⁻¹ Y with diag_reg r (the noise variance of the GP).
    const KernelPair train_prior{RowMatrixD(), b.train.ntk};
    const GaussianOutputs on_test = gp_inference(GpKind::NtkGp, b.train, b.test_train, b.test_test, y, options);
    const GaussianOutputs on_train = gp_inference(GpKind::NtkGp, b.train, train_prior, train_prior, y, options);
    for (std::size_t i = 0; i < times.size(); ++i) {  // every time is inf (checked above)
      train_out.push_back(on_train.mean);
      train_cov.push_back(on_train.covariance);
      test_out.push_back(on_test.mean);
      test_cov.push_back(on_test.covariance);
    }
  } else if (cmd.ensemble && cmd.lr == 0 && std::all_of(times.begin(), times.end(), [](double t) { return std::isinf(t); })) {
    // Gradient flow's infinite ensemble at t = inf only: on the test points the GP posterior
    // (nngp) or its NTK counterpart (ntk), neural-tangents' gp_inference — one Cholesky
    // factorization instead of EnsemblePredictor's eigendecomposition (at n = 4096 this tool
    // took 26 s that way, the module's gp_inference 6.9 s); on the training points the
    // targets, interpolated, with zero covariance (what EnsemblePredictor::train returns).
    const GaussianOutputs on_test = gp_inference(ntk ? GpKind::Ntk : GpKind::Nngp, b.train, b.test_train, b.test_test, y,
                                                 options);
    for (std::size_t i = 0; i < times.size(); ++i) {
      train_out.push_back(y);
      train_cov.push_back(RowMatrixD::Zero(y.rows(), y.rows()));
      test_out.push_back(on_test.mean);
      test_cov.push_back(on_test.covariance);
    }
    max_lr = std::numeric_limits<double>::infinity();  // not computed: no eigenvalues here
  } else if (cmd.ensemble) {
    const EnsemblePredictor ens(ntk ? EnsembleKind::Ntk : EnsembleKind::Nngp, b.train.nngp, b.train.ntk, y, options);
    max_lr = ens.dynamics().max_stable_learning_rate();
    for (GaussianOutputs& g : ens.train(times, true)) {
      train_out.push_back(std::move(g.mean));
      train_cov.push_back(std::move(g.covariance));
    }
    for (GaussianOutputs& g : ens.test(times, b.test_train.nngp, b.test_train.ntk, b.test_test.nngp)) {
      test_out.push_back(std::move(g.mean));
      test_cov.push_back(std::move(g.covariance));
    }
  } else {
    // The library's path: one eigendecomposition for every time.
    const KernelDynamics dyn(k_train, y, options);
    max_lr = dyn.max_stable_learning_rate();
    Trajectory tr = predict_mse(dyn, k_test, times, f0, f0t);
    train_out = std::move(tr.train);
    test_out = std::move(tr.test);
  }

  write_outputs(cmd, times, train_out, test_out, train_cov, test_cov, max_lr, n, m, o, "");
}

}  // namespace

void register_predict_command(CLI::App& app) {
  auto cmd = std::make_shared<PredictCommand>();
  CLI::App* sub = app.add_subcommand(
      "predict", "Predicted outputs of a trained network from its NNGP/NTK, at any list of times (docs/mathematics.md §4)");
  sub->footer(R"(Outputs in DIR (float64 .npy; T times, n train points, m test points, o outputs):
  train.npy      (T, n, o)  outputs on the training points at each time
  test.npy       (T, m, o)  outputs on the test points at each time
  train_cov.npy  (T, n, n)  with --ensemble: covariance over initializations (shared by all o outputs)
  test_cov.npy   (T, m, m)  with --ensemble: likewise on the test points
  times.npy      (T,)       the times;  summary.json: the settings and the largest stable learning rate
Without --ensemble the outputs start from f0 = 0 (the ensemble mean) or from --f0. --ensemble
gives neural-tangents' gradient_descent_mse_ensemble: --get ntk trains all layers (NTK), --get
nngp the last layer only (NNGP); t = inf is the GP posterior. Times are continuous (gradient
flow), or steps with --lr (gradient descent; --momentum adds heavy-ball momentum); with --loss
mean the kernel is divided by Y.size (neural-tangents). --objective cross-entropy integrates
the softmax cross-entropy ODE (Y one-hot; times in units of --lr, default 1; no inf).
--get ntkgp --ensemble --time inf: neural-tangents' gp_inference 'ntkgp', the GP posterior with
the NTK as prior covariance: mean Θ_* Θ⁻¹ Y, cov Θ_** - Θ_* Θ⁻¹ Θ_*ᵀ (train.npy, train_cov.npy:
the same with X* = X; --diag-reg acts as observation noise).
--kernels DIR layout (what `ntkit kernel --arch A --get both -o DIR/train.npy --x1 X.npy` and
`... --x1 XT.npy --x2 X.npy -o DIR/test.npy` write):
  train.ntk.npy, train.nngp.npy   K(X, X), n x n
  test.ntk.npy,  test.nngp.npy    K(X*, X), m x n
  test_test.nngp.npy              K(X*, X*), m x m (only with --ensemble;
                                  `ntkit kernel --arch A --x1 XT.npy --get nngp -o DIR/test_test.nngp.npy`)
  test_test.ntk.npy               Θ(X*, X*), m x m (only with --get ntkgp;
                                  `ntkit kernel --arch A --x1 XT.npy --get ntk -o DIR/test_test.ntk.npy`)
Only the files the run needs are read (--get ntk: the ntk ones; --ensemble: also the nngp ones;
--get ntkgp: train.ntk, test.ntk and test_test.ntk).
)" + std::string(kInputsHelp));
  sub->add_option("--arch", cmd->arch,
                  "network, e.g. \"Dense(512, W_std=1.5, b_std=0.05), Relu, Dense(1)\": its infinite-width kernels");
  cmd->fixed_layers_option =
      sub->add_option("--fixed-layers", cmd->fixed_layers,
                      "with --arch: train only the Dense layers after the first L' (their NTK; Arora et al. 2020)")
          ->capture_default_str();
  sub->add_option("--kernels", cmd->kernels_dir, "directory of precomputed kernels (layout below) instead of --arch");
  sub->add_option("--train", cmd->train,
                  "training inputs X (n x d, or images / signals, see Inputs below) and targets Y (n x o, or n); "
                  "with --kernels Y alone will do")
      ->expected(1, 2)
      ->required();
  sub->add_option("--test", cmd->test, "test inputs X* (m examples shaped as X); required with --arch");
  sub->add_option("--time", cmd->times, "comma-separated times (steps with --lr), 'inf' allowed")->capture_default_str();
  sub->add_option("--get", cmd->get,
                  "ntk (all layers trained), nngp (last layer only), or ntkgp (NTK-GP posterior; with --ensemble --time inf)")
      ->capture_default_str();
  sub->add_option("--loss", cmd->loss, "sum (½Σ(f - y)², the lecture's) or mean (divided by Y.size, neural-tangents')")
      ->capture_default_str();
  sub->add_option("--objective", cmd->objective, "mse or cross-entropy (softmax, by an adaptive ODE solver)")
      ->capture_default_str();
  sub->add_option("--lr", cmd->lr, "gradient descent with this learning rate: --time counts steps (default: gradient flow)");
  sub->add_option("--momentum", cmd->momentum, "heavy-ball momentum β in [0, 1) (with --lr)")->capture_default_str();
  sub->add_option("--diag-reg", cmd->diag_reg,
                  "add diag_reg·tr(K)/n to K(X, X)'s diagonal (needed for t = inf when K is singular)")
      ->capture_default_str();
  sub->add_flag("--diag-reg-absolute", cmd->diag_reg_absolute, "add diag_reg itself instead of diag_reg·tr(K)/n");
  sub->add_flag("--ensemble", cmd->ensemble, "infinite ensemble: mean and covariance over initializations");
  sub->add_option("--f0", cmd->f0, "initial outputs F0_TRAIN.npy (n x o) and F0_TEST.npy (m x o) (default 0)")->expected(2);
  sub->add_option("-o,--out", cmd->out, "output directory (created)")->required();
  sub->add_option("--block-size", cmd->block_size,
                  "under mpirun: rows and columns per block of the 2-D block-cyclic layout of the kernels (ignored in "
                  "one process)")
      ->capture_default_str();
  sub->callback([cmd] { run(*cmd); });
}

}  // namespace ntkit::cli
