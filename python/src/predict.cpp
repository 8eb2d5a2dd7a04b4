// ntkit.predict_mse, ntkit.predict_ode: outputs at many times, squared loss in closed form or
// any loss by an ODE solver (predict.hpp).
// ntkit.gp_inference, ntkit.EnsemblePredictor, ntkit.max_learning_rate: the infinite ensemble
// of infinitely wide networks and the GP posteriors, from NNGP/NTK blocks (predict.hpp,
// neural-tangents' predict.gp_inference and gradient_descent_mse_ensemble).
//
// A block pair is (nngp, ntk), the tuple ntkit.kernel(..., get=("nngp", "ntk")) returns; an
// element that a posterior does not need may be None.
#include <string>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "ntkit/predict.hpp"

namespace ntkit::python {
namespace {

// (nngp, ntk) or None → two copies (the C++ API takes matrices); a missing one is empty.
KernelPair kernel_pair(const py::object& pair, const char* name) {
  if (pair.is_none()) return {};
  if (!py::isinstance<py::sequence>(pair) || py::isinstance<py::str>(pair) || py::len(pair) != 2) {
    throw py::value_error(std::string(name) +
                          ": expected a pair (nngp, ntk), as ntkit.kernel(..., get=(\"nngp\", \"ntk\")) returns; "
                          "either may be None when the posterior does not use it");
  }
  const py::sequence items = py::reinterpret_borrow<py::sequence>(pair);
  const std::string nngp_name = std::string(name) + "[0] (nngp)";
  const std::string ntk_name = std::string(name) + "[1] (ntk)";
  return {optional_matrix(items[0], nngp_name.c_str()), optional_matrix(items[1], ntk_name.c_str())};
}

DynamicsOptions dynamics_options(const std::string& loss, double diag_reg, bool diag_reg_absolute) {
  DynamicsOptions options;
  options.normalization = parse_loss_normalization(loss);
  options.diag_reg = diag_reg;
  options.diag_reg_absolute = diag_reg_absolute;
  return options;
}

// Means (T, points) or (T, points, o) and covariances (T, points, points), or None when not
// computed.
py::tuple stack(const std::vector<GaussianOutputs>& outputs, bool vector_targets) {
  const auto times = static_cast<py::ssize_t>(outputs.size());
  const RowMatrixD& first = outputs.front().mean;
  std::vector<py::ssize_t> mean_shape{times, first.rows()};
  if (!vector_targets) mean_shape.push_back(first.cols());
  py::array_t<double> means(mean_shape);
  double* m = means.mutable_data();
  for (const GaussianOutputs& g : outputs) m = std::copy(g.mean.data(), g.mean.data() + g.mean.size(), m);
  if (outputs.front().covariance.size() == 0) return py::make_tuple(means, py::none());
  py::array_t<double> covariances(std::vector<py::ssize_t>{times, first.rows(), first.rows()});
  double* c = covariances.mutable_data();
  for (const GaussianOutputs& g : outputs) c = std::copy(g.covariance.data(), g.covariance.data() + g.covariance.size(), c);
  return py::make_tuple(means, covariances);
}

struct Ensemble {
  EnsemblePredictor model;
  bool vector_targets;
};

// One output matrix per time → (T, points) or (T, points, o).
py::array stack_outputs(const std::vector<RowMatrixD>& outputs, Eigen::Index rows, Eigen::Index cols, bool vector_targets) {
  std::vector<py::ssize_t> shape{static_cast<py::ssize_t>(outputs.size()), rows};
  if (!vector_targets) shape.push_back(cols);
  py::array_t<double> out(shape);
  double* p = out.mutable_data();
  for (const RowMatrixD& f : outputs) p = std::copy(f.data(), f.data() + f.size(), p);
  return out;
}

// The shared frame of predict_ode and predict_mse: arrays in, `predict(k, k_test, y, f0,
// f0_star)` without the GIL, (train (T, n[, o]), test (T, m[, o]) or None) out.
template <class Predict>
py::tuple trajectory_arrays(const py::object& k_train, const py::object& y_train, const py::object& k_test_train,
                            const py::object& f0_train, const py::object& f0_test, Predict predict) {
  const MatrixArg<double> k = matrix_arg<double>(k_train, "k_train");
  const MatrixArg<double> y = matrix_arg<double>(y_train, "y_train");
  const RowMatrixD k_test = k_test_train.is_none() ? RowMatrixD(0, k.view.cols())
                                                   : optional_matrix(k_test_train, "k_test_train");
  const RowMatrixD f0 = optional_matrix(f0_train, "f0_train");
  const RowMatrixD f0_star = optional_matrix(f0_test, "f0_test");
  Trajectory trajectory;
  {
    py::gil_scoped_release nogil;
    trajectory = predict(k.view, k_test, y.view, f0, f0_star);
  }
  const py::object test = k_test_train.is_none()
                              ? py::object(py::none())
                              : py::object(stack_outputs(trajectory.test, k_test.rows(), y.view.cols(), y.is_vector));
  return py::make_tuple(stack_outputs(trajectory.train, y.view.rows(), y.view.cols(), y.is_vector), test);
}

OdeLoss parse_objective(const std::string& objective) {
  if (objective == "cross-entropy" || objective == "cross_entropy") return OdeLoss::SoftmaxCrossEntropy;
  if (objective == "mse") return OdeLoss::SquaredError;
  throw py::value_error("predict_ode: objective must be \"cross-entropy\" or \"mse\", got '" + objective + "'");
}

py::tuple ode(const py::object& k_train, const py::object& y_train, const std::vector<double>& times,
              const py::object& k_test_train, const std::string& objective, const std::string& loss, double learning_rate,
              double momentum, const py::object& f0_train, const py::object& f0_test, double rtol, double atol,
              long max_steps) {
  OdeOptions options;
  options.loss = parse_objective(objective);
  options.normalization = parse_loss_normalization(loss);
  options.learning_rate = learning_rate;
  options.momentum = momentum;
  options.relative_tolerance = rtol;
  options.absolute_tolerance = atol;
  options.max_steps = max_steps;
  return trajectory_arrays(k_train, y_train, k_test_train, f0_train, f0_test,
                           [&](MatrixView<double> k, const RowMatrixD& k_test, MatrixView<double> y, const RowMatrixD& f0,
                               const RowMatrixD& f0_star) { return predict_ode(k, k_test, y, times, options, f0, f0_star); });
}

py::tuple mse(const py::object& k_train, const py::object& y_train, const std::vector<double>& times,
              const py::object& k_test_train, const std::string& loss, double learning_rate, double momentum, double diag_reg,
              bool diag_reg_absolute, const py::object& f0_train, const py::object& f0_test) {
  DynamicsOptions options = dynamics_options(loss, diag_reg, diag_reg_absolute);
  options.learning_rate = learning_rate;
  options.momentum = momentum;
  return trajectory_arrays(k_train, y_train, k_test_train, f0_train, f0_test,
                           [&](MatrixView<double> k, const RowMatrixD& k_test, MatrixView<double> y, const RowMatrixD& f0,
                               const RowMatrixD& f0_star) { return predict_mse(k, k_test, y, times, options, f0, f0_star); });
}

}  // namespace

void bind_predict(py::module_& m) {
  m.def("predict_mse", &mse, py::arg("k_train"), py::arg("y_train"), py::arg("times"), py::arg("k_test_train") = py::none(),
        py::kw_only(), py::arg("loss") = "sum", py::arg("learning_rate") = 0.0, py::arg("momentum") = 0.0,
        py::arg("diag_reg") = 0.0, py::arg("diag_reg_absolute") = false, py::arg("f0_train") = py::none(),
        py::arg("f0_test") = py::none(),
        R"doc(Squared-loss training predicted at many times at once (neural-tangents'
gradient_descent_mse with a list of times): one eigendecomposition of k_train and two threaded
products for all finite times; t = inf by Cholesky. Returns (train, test): train (T, n) or
(T, n, o) like y_train, test (T, m[, o]), or None without k_test_train.

k_train: K(X, X) (n, n); k_test_train: K(X*, X) (m, n) or None; y_train (n,) or (n, o).
times: >= 0, inf allowed: gradient flow, or, with learning_rate > 0, numbers of gradient
descent steps (momentum in [0, 1): heavy-ball). loss "sum" (½ Σ (f - y)²) or "mean"
(÷ y_train.size, neural-tangents'; its time unit is then ntkit's time divided by the
learning rate it was given). diag_reg, diag_reg_absolute as KernelDynamics; f0_train,
f0_test: initial outputs (default 0, the mean over initializations).

Raises ValueError for mismatched shapes, NaN/Inf, no or negative times, an unknown loss, or
t = inf with a kernel that is not positive definite (use diag_reg) or a learning rate above the
stable limit.)doc");

  m.def(
      "gp_inference",
      [](const py::object& k_train, const py::object& y_train, const py::object& k_test_train, const py::object& k_test_test,
         const std::string& get, double diag_reg, bool diag_reg_absolute) {
        const GpKind kind = parse_gp_kind(get);
        const KernelPair train = kernel_pair(k_train, "k_train");
        const KernelPair test_train = kernel_pair(k_test_train, "k_test_train");
        const KernelPair test_test = kernel_pair(k_test_test, "k_test_test");
        const MatrixArg<double> y = matrix_arg<double>(y_train, "y_train");
        const DynamicsOptions options = dynamics_options("sum", diag_reg, diag_reg_absolute);
        GaussianOutputs posterior;
        {
          py::gil_scoped_release nogil;
          posterior = gp_inference(kind, train, test_train, test_test, y.view, options);
        }
        py::object covariance = py::none();
        if (posterior.covariance.size() != 0) covariance = to_numpy(std::move(posterior.covariance));
        return py::make_tuple(to_numpy(std::move(posterior.mean), y.is_vector), covariance);
      },
      py::arg("k_train"), py::arg("y_train"), py::arg("k_test_train"), py::arg("k_test_test") = py::none(), py::kw_only(),
      py::arg("get") = "nngp", py::arg("diag_reg") = 0.0, py::arg("diag_reg_absolute") = false,
      R"doc(The posterior at t = ∞ on test points, as neural-tangents' gp_inference: returns
(mean, covariance); mean (m,) or (m, o) like y_train, covariance (m, m) shared by all outputs,
or None without k_test_test.

Kernel blocks are pairs (nngp, ntk): k_train between X and X, k_test_train between X* and X,
k_test_test between X* and X* (ntkit.kernel(arch, ..., get=("nngp", "ntk"))).
get: "nngp" (mean K_* K⁻¹ y, cov K_** - K_* K⁻¹ K_*ᵀ), "ntk" (an infinite ensemble of
networks trained to convergence: mean Θ_* Θ⁻¹ y, cov K_** + Θ_* Θ⁻¹ K Θ⁻¹ Θ_*ᵀ - (Θ_* Θ⁻¹ K_*ᵀ + h.c.))
or "ntkgp" (the GP with the NTK as prior: mean Θ_* Θ⁻¹ y, cov Θ_** - Θ_* Θ⁻¹ Θ_*ᵀ).
diag_reg regularizes the training kernel that is inverted (diag_reg · tr/n, or absolute).
Raises ValueError for an unknown get, a missing or mis-shaped block, NaN/Inf, or a training
kernel that is not positive definite (use diag_reg).)doc");

  py::class_<Ensemble>(m, "EnsemblePredictor", R"doc(An infinite ensemble of infinitely wide networks trained by gradient
flow (or descent) on the squared loss, as neural-tangents' gradient_descent_mse_ensemble:
Gaussian outputs (mean and covariance over initializations) at any times, inf included.

k_train: (nngp, ntk) blocks between X and X; y_train (n,) or (n, o); get: "ntk" (every
layer trained; needs both blocks) or "nngp" (the last layer only; ntk may be None). loss,
diag_reg, diag_reg_absolute as KernelDynamics. One eigendecomposition serves every time.)doc")
      .def(py::init([](const py::object& k_train, const py::object& y_train, const std::string& get, const std::string& loss,
                       double diag_reg, bool diag_reg_absolute) {
             const EnsembleKind kind = parse_ensemble_kind(get);
             const KernelPair train = kernel_pair(k_train, "k_train");
             const MatrixArg<double> y = matrix_arg<double>(y_train, "y_train");
             const DynamicsOptions options = dynamics_options(loss, diag_reg, diag_reg_absolute);
             py::gil_scoped_release nogil;
             return Ensemble{EnsemblePredictor(kind, train.nngp, train.ntk, y.view, options), y.is_vector};
           }),
           py::arg("k_train"), py::arg("y_train"), py::kw_only(), py::arg("get") = "ntk", py::arg("loss") = "sum",
           py::arg("diag_reg") = 0.0, py::arg("diag_reg_absolute") = false)
      .def(
          "test",
          [](const Ensemble& self, const std::vector<double>& times, const py::object& k_test_train,
             const py::object& nngp_test_test) {
            const KernelPair test_train = kernel_pair(k_test_train, "k_test_train");
            const RowMatrixD test_test = optional_matrix(nngp_test_test, "nngp_test_test");
            std::vector<GaussianOutputs> outputs;
            {
              py::gil_scoped_release nogil;
              outputs = self.model.test(times, test_train.nngp, test_train.ntk, test_test);
            }
            if (outputs.empty()) throw py::value_error("EnsemblePredictor.test: give at least one time");
            return stack(outputs, self.vector_targets);
          },
          py::arg("times"), py::arg("k_test_train"), py::arg("nngp_test_test") = py::none(),
          R"doc(Test outputs at each time (>= 0 or inf): (means, covariances) with means (T, m) or
(T, m, o) and covariances (T, m, m), or None without nngp_test_test (K_**, m x m).
k_test_train: the (nngp, ntk) blocks between X* and X.)doc")
      .def(
          "train",
          [](const Ensemble& self, const std::vector<double>& times, bool covariance) {
            std::vector<GaussianOutputs> outputs;
            {
              py::gil_scoped_release nogil;
              outputs = self.model.train(times, covariance);
            }
            if (outputs.empty()) throw py::value_error("EnsemblePredictor.train: give at least one time");
            return stack(outputs, self.vector_targets);
          },
          py::arg("times"), py::kw_only(), py::arg("covariance") = false,
          "Training-point outputs at each time: (means (T, n[, o]), covariances (T, n, n) or None).");

  m.def("predict_ode", &ode, py::arg("k_train"), py::arg("y_train"), py::arg("times"), py::arg("k_test_train") = py::none(),
        py::kw_only(), py::arg("objective") = "cross-entropy", py::arg("loss") = "sum", py::arg("learning_rate") = 1.0,
        py::arg("momentum") = 0.0, py::arg("f0_train") = py::none(), py::arg("f0_test") = py::none(),
        py::arg("rtol") = OdeOptions{}.relative_tolerance, py::arg("atol") = OdeOptions{}.absolute_tolerance,
        py::arg("max_steps") = OdeOptions{}.max_steps,
        R"doc(Training with any loss, predicted in function space (neural-tangents' predict.gradient_descent
with its default ODE): integrates df(X)/dt = -K ∇_f L(f(X)), df(X*)/dt = -K_* ∇_f L(f(X)) with
an adaptive Dormand–Prince 5(4) solver and returns (train, test) outputs at every time:
train (T, n) or (T, n, o) like y_train, test (T, m[, o]), or None without k_test_train.

k_train: K(X, X) (n, n) (e.g. the NTK); k_test_train: K(X*, X) (m, n) or None; y_train (n,)
or (n, o), e.g. one-hot labels. objective: "cross-entropy" (softmax; L = -Σ_i Σ_c y_ic log
softmax(f_i)_c) or "mse" (L = ½ Σ (f - y)², the same as KernelDynamics' closed form). loss:
"sum" as written, or "mean" (÷ y_train.size, neural-tangents'). times: finite, >= 0, any
order, in units of learning_rate (absolute time learning_rate · t, √learning_rate · t with
momentum). momentum in [0, 1): neural-tangents' continuous heavy-ball ODE. f0_train (n[, o]),
f0_test (m[, o]): initial outputs (default 0). rtol, atol: the solver's tolerances per entry;
max_steps: its step limit. The GIL is released while integrating.

Raises ValueError for mismatched shapes, NaN/Inf, an infinite or negative time (cross-entropy
logits grow without bound: there is no t = inf), learning_rate <= 0, momentum outside [0, 1),
tolerances <= 0, an unknown objective or loss, or more than max_steps steps.)doc");

  m.def(
      "max_learning_rate",
      [](const py::object& ntk_train, const std::string& loss, Eigen::Index y_size, double momentum) {
        const MatrixArg<double> k = matrix_arg<double>(ntk_train, "ntk_train");
        py::gil_scoped_release nogil;
        return max_learning_rate(k.view, parse_loss_normalization(loss), y_size, momentum);
      },
      py::arg("ntk_train"), py::kw_only(), py::arg("loss") = "sum", py::arg("y_size") = 1, py::arg("momentum") = 0.0,
      "The largest stable learning rate of (momentum) gradient descent on the squared loss: "
      "2 (1 + momentum) / λ_max(K) for loss 'sum', times y_size (= y.size) for 'mean' (neural-tangents' "
      "max_learning_rate).");
}

}  // namespace ntkit::python
