// ntkit.TwoLayerNet, LinearizedTwoLayerNet and two_layer_ntk: the lecture's network
// f(x) = m^(-1/2) Σ b_i σ(a_i·x) at finite and infinite width (two_layer_net.hpp,
// two_layer_kernel.hpp; docs/mathematics.md §2-§3).
#include <cstdint>
#include <functional>
#include <string>

#include "arrays.hpp"
#include "bindings.hpp"
#include "ntkit/two_layer_kernel.hpp"
#include "ntkit/two_layer_net.hpp"

namespace ntkit::python {
namespace {

NtkParts ntk_parts(const py::object& x1, const py::object& x2, const std::function<NtkParts(MatrixView<double>)>& symmetric,
                   const std::function<NtkParts(MatrixView<double>, MatrixView<double>)>& cross) {
  const MatrixArg<double> a = matrix_arg<double>(x1, "x1");
  if (x2.is_none()) {
    py::gil_scoped_release nogil;
    return symmetric(a.view);
  }
  const MatrixArg<double> b = matrix_arg<double>(x2, "x2");
  py::gil_scoped_release nogil;
  return cross(a.view, b.view);
}

// Records (one row per recorded step) as a matrix; (records, 0) when nothing was recorded.
RowMatrixD stack(const std::vector<VectorD>& rows, std::size_t records) {
  RowMatrixD out(static_cast<Eigen::Index>(records), rows.empty() ? 0 : rows.front().size());
  for (std::size_t i = 0; i < rows.size(); ++i) out.row(static_cast<Eigen::Index>(i)) = rows[i].transpose();
  return out;
}

TwoLayerTrace train(TwoLayerNet& net, const py::object& x, const py::object& y, double learning_rate, int steps,
                    const py::object& x_test, int record_every, const py::object& progress) {
  const MatrixArg<double> train_x = matrix_arg<double>(x, "x");
  const VectorD targets = vector_arg(y, "y");
  // No test set: a 0 x d matrix, as the C++ API takes it.
  const py::object test_input = x_test.is_none()
                                    ? py::object(py::array_t<double>(std::vector<py::ssize_t>{0, net.input_dim()}))
                                    : x_test;
  const MatrixArg<double> test_x = matrix_arg<double>(test_input, "x_test");
  TwoLayerTrainOptions options;
  options.learning_rate = learning_rate;
  options.steps = steps;
  options.record_every = record_every;
  // After every step, with the GIL: the user's progress callback, and Ctrl-C (a long training
  // run without the GIL would otherwise not see KeyboardInterrupt until it ends). A Python
  // exception from either ends training; the network keeps the weights reached so far.
  const auto after_step = [&progress](int step) {
    py::gil_scoped_acquire gil;
    if (!progress.is_none()) progress(step);
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
  };
  py::gil_scoped_release nogil;
  return train_two_layer(net, train_x.view, targets, test_x.view, options, after_step);
}

}  // namespace

void bind_two_layer(py::module_& m) {
  py::class_<NtkParts>(m, "NtkParts", R"doc(The NTK split by parameter group: a = K^a (first-layer weights
a_i), b = K^b (output weights b_i), each (n1, n2); total() = K^a + K^b.)doc")
      .def_property_readonly(
          "a", [](const NtkParts& k) -> const RowMatrixD& { return k.a; }, py::return_value_policy::reference_internal,
          "K^a, (n1, n2) (read-only view).")
      .def_property_readonly(
          "b", [](const NtkParts& k) -> const RowMatrixD& { return k.b; }, py::return_value_policy::reference_internal,
          "K^b, (n1, n2) (read-only view).")
      .def(
          "total", [](const NtkParts& k) { return to_numpy(k.total()); }, "K = K^a + K^b, (n1, n2).");

  m.def(
      "two_layer_ntk",
      [](const py::object& x1, const py::object& x2, const std::string& activation, int quadrature_degree,
         bool force_quadrature) {
        TwoLayerKernelOptions options;
        options.quadrature_degree = quadrature_degree;
        options.force_quadrature = force_quadrature;
        const Activation sigma = parse_activation(activation);
        return ntk_parts(
            x1, x2, [&](MatrixView<double> a) { return two_layer_ntk(sigma, a, options); },
            [&](MatrixView<double> a, MatrixView<double> b) { return two_layer_ntk(sigma, a, b, options); });
      },
      py::arg("x1"), py::arg("x2") = py::none(), py::kw_only(), py::arg("activation") = "relu",
      py::arg("quadrature_degree") = 0, py::arg("force_quadrature") = false,
      R"doc(Infinite-width NTK of the two-layer network, split into K^a and K^b (NtkParts), between
x1 (n1, d) and x2 (n2, d); x2=None: K(x1, x1), exactly symmetric.

K^a(x, x') = (x·x') E[σ'(u)σ'(v)], K^b(x, x') = E[σ(u)σ(v)], each entry the deep engine's
dual activation (the same as analytic_kernels of Dense(m, W_std=√d), σ, Dense(1)): closed
forms for "relu", "erf", "identity"; "tanh" by quadrature (quadrature_degree=0: the engine's
default rule, ~1e-14; N in [1, 200]: Gauss-Hermite with N points). activation may also be
any activation of the network text ("Gelu", "Erf(a=2)"). force_quadrature: every activation
by the generic 2-D Gauss-Hermite rule of quadrature_degree points (0: 100), for cross-checks.
Raises ValueError for an unknown activation, different column counts, NaN/Inf or a degree
out of range.)doc");

  py::class_<TwoLayerTrace>(m, "TwoLayerTrace", "What TwoLayerNet.train recorded, one entry per recorded step.")
      .def_property_readonly(
          "steps", [](const TwoLayerTrace& t) { return py::array(py::cast(t.steps)); }, "The recorded steps, (records,).")
      .def_property_readonly(
          "loss", [](const TwoLayerTrace& t) { return py::array(py::cast(t.loss)); },
          "½ Σ (f(x_j) - y_j)² on the training set, (records,).")
      .def_property_readonly(
          "train_outputs", [](const TwoLayerTrace& t) { return to_numpy(stack(t.train_outputs, t.steps.size())); },
          "f(X), (records, n).")
      .def_property_readonly(
          "test_outputs", [](const TwoLayerTrace& t) { return to_numpy(stack(t.test_outputs, t.steps.size())); },
          "f(X*), (records, n*); (records, 0) without a test set.")
      .def_property_readonly(
          "weight_rel_change", [](const TwoLayerTrace& t) { return py::array(py::cast(t.weight_rel_change)); },
          "‖w(t) - w(0)‖ / ‖w(0)‖, (records,).");

  py::class_<TwoLayerNet>(m, "TwoLayerNet", R"doc(The lecture's two-layer network f(x) = m^(-1/2) Σ_i b_i σ(a_i·x) at width m,
no biases, a_i ~ N(0, I_d), b_i ~ N(0, 1) drawn from `seed` (same seed, same weights).
activation: "relu", "erf", "tanh" or "identity", or any activation of the network text
("Gelu", "Erf(a=2)"). Raises ValueError for input_dim < 1, width < 1 or an unknown
activation.)doc")
      .def(py::init([](int input_dim, int width, const std::string& activation, std::uint64_t seed) {
             return TwoLayerNet(input_dim, width, parse_activation(activation), seed);
           }),
           py::arg("input_dim"), py::arg("width"), py::kw_only(), py::arg("activation") = "relu", py::arg("seed") = 0)
      .def_static(
          "from_weights",
          [](const py::object& a, const py::object& b, const std::string& activation) {
            return TwoLayerNet(RowMatrixD(matrix_arg<double>(a, "a").view), vector_arg(b, "b"), parse_activation(activation));
          },
          py::arg("a"), py::arg("b"), py::kw_only(), py::arg("activation") = "relu",
          "A network with given weights: a (m, d) (row i is a_i), b (m,). Raises ValueError for "
          "mismatched shapes or NaN/Inf.")
      .def_property_readonly("input_dim", &TwoLayerNet::input_dim, "d.")
      .def_property_readonly("width", &TwoLayerNet::width, "m.")
      .def_property_readonly(
          "activation", [](const TwoLayerNet& net) { return std::string(activation_name(net.activation())); }, "σ's name.")
      .def_property_readonly(
          "a", [](const TwoLayerNet& net) -> const RowMatrixD& { return net.a(); },
          py::return_value_policy::reference_internal, "First-layer weights (m, d): a read-only view that follows training.")
      .def_property_readonly(
          "b", [](const TwoLayerNet& net) -> const VectorD& { return net.b(); }, py::return_value_policy::reference_internal,
          "Output weights (m,): a read-only view that follows training.")
      .def(
          "forward",
          [](const TwoLayerNet& net, const py::object& x) {
            const MatrixArg<double> a = matrix_arg<double>(x, "x");
            py::gil_scoped_release nogil;
            return net.forward(a.view);
          },
          py::arg("x"), "f(x_j) for every row of x (n, d) → (n,). Raises ValueError for a wrong width or NaN/Inf.")
      .def(
          "__call__",
          [](const TwoLayerNet& net, const py::object& x) {
            const MatrixArg<double> a = matrix_arg<double>(x, "x");
            py::gil_scoped_release nogil;
            return net.forward(a.view);
          },
          py::arg("x"), "Same as forward(x).")
      .def(
          "loss_gradient",
          [](const TwoLayerNet& net, const py::object& x, const py::object& y) {
            const MatrixArg<double> a = matrix_arg<double>(x, "x");
            const VectorD targets = vector_arg(y, "y");
            TwoLayerNet::Gradient gradient;
            {
              py::gil_scoped_release nogil;
              gradient = net.loss_gradient(a.view, targets);
            }
            return py::make_tuple(to_numpy(std::move(gradient.a)), py::cast(std::move(gradient.b)));
          },
          py::arg("x"), py::arg("y"), "(∇_a L (m, d), ∇_b L (m,)) for L = ½ Σ_j (f(x_j) - y_j)², x (n, d), y (n,).")
      .def(
          "gradient_step",
          [](TwoLayerNet& net, const py::object& x, const py::object& y, double learning_rate) {
            const MatrixArg<double> a = matrix_arg<double>(x, "x");
            const VectorD targets = vector_arg(y, "y");
            py::gil_scoped_release nogil;
            net.gradient_step(a.view, targets, learning_rate);
          },
          py::arg("x"), py::arg("y"), py::arg("learning_rate"), "One step w ← w - η ∇_w L, in place.")
      .def(
          "empirical_ntk",
          [](const TwoLayerNet& net, const py::object& x1, const py::object& x2) {
            return ntk_parts(
                x1, x2, [&](MatrixView<double> a) { return net.empirical_ntk(a); },
                [&](MatrixView<double> a, MatrixView<double> b) { return net.empirical_ntk(a, b); });
          },
          py::arg("x1"), py::arg("x2") = py::none(),
          R"doc(This network's NTK K_m = K_m^a + K_m^b between x1 (n1, d) and x2 (n2, d) (NtkParts);
x2=None: K_m(x1, x1), exactly symmetric. K_m^b = σ(Z1)σ(Z2)ᵀ/m,
K_m^a = (X1 X2ᵀ) ⊙ (σ'(Z1)B)(σ'(Z2)B)ᵀ/m with Z = X Aᵀ, B = diag(b).)doc")
      .def("train", &train, py::arg("x"), py::arg("y"), py::kw_only(), py::arg("learning_rate"), py::arg("steps"),
           py::arg("x_test") = py::none(), py::arg("record_every") = 1, py::arg("progress") = py::none(),
           R"doc(Full-batch gradient descent on ½ Σ (f(x_j) - y_j)², in place; returns a TwoLayerTrace
with steps 0, record_every, 2·record_every, ..., and steps. x (n, d), y (n,), x_test
(n*, d) or None. progress(step) is called after every step; Ctrl-C stops training.
Raises ValueError for bad shapes, NaN/Inf, learning_rate <= 0, steps < 0,
record_every < 1, or a diverging loss (with the stable limit η < 2 / λ_max(K)).)doc")
      .def("parameter_norm", &TwoLayerNet::parameter_norm, "‖w‖ over a and b.")
      .def("parameter_distance", &TwoLayerNet::parameter_distance, py::arg("other"),
           "‖w - w'‖ to a network of the same shape (ValueError otherwise).")
      .def("__copy__", [](const TwoLayerNet& net) { return TwoLayerNet(net); })
      .def(
          "__deepcopy__", [](const TwoLayerNet& net, const py::dict&) { return TwoLayerNet(net); }, py::arg("memo"))
      .def(py::pickle(
          [](const TwoLayerNet& net) {
            return py::make_tuple(to_numpy(RowMatrixD(net.a())), py::cast(net.b()), activation_name(net.activation()));
          },
          [](const py::tuple& state) {
            return TwoLayerNet(RowMatrixD(matrix_arg<double>(state[0], "a").view), vector_arg(state[1], "b"),
                               parse_activation(state[2].cast<std::string>()));
          }));

  py::class_<LinearizedTwoLayerNet>(m, "LinearizedTwoLayerNet", R"doc(The first-order Taylor expansion of a TwoLayerNet
around its current weights w0: f_lin(w, x) = f(w0, x) + ∇_w f(w0, x)·(w - w0). Trained by
gradient descent it is kernel gradient descent with the empirical NTK K_m(w0).)doc")
      .def(py::init<TwoLayerNet>(), py::arg("initial"))
      .def(
          "forward",
          [](const LinearizedTwoLayerNet& net, const py::object& x) {
            const MatrixArg<double> a = matrix_arg<double>(x, "x");
            py::gil_scoped_release nogil;
            return net.forward(a.view);
          },
          py::arg("x"), "f_lin(w, x_j) for every row of x (n, d) → (n,).")
      .def(
          "gradient_step",
          [](LinearizedTwoLayerNet& net, const py::object& x, const py::object& y, double learning_rate) {
            const MatrixArg<double> a = matrix_arg<double>(x, "x");
            const VectorD targets = vector_arg(y, "y");
            py::gil_scoped_release nogil;
            net.gradient_step(a.view, targets, learning_rate);
          },
          py::arg("x"), py::arg("y"), py::arg("learning_rate"), "w ← w - η ∇_w ½ Σ_j (f_lin(w, x_j) - y_j)², in place.")
      .def("displacement_norm", &LinearizedTwoLayerNet::displacement_norm, "‖w - w0‖.")
      .def_property_readonly(
          "initial", [](const LinearizedTwoLayerNet& net) { return TwoLayerNet(net.initial()); },
          "The network at w0 (a copy).");
}

}  // namespace ntkit::python
