// ntkit.Mlp, LinearizedMlp, monte_carlo_kernel: finite deep networks, their empirical
// NTK/NNGP and training (mlp.hpp, mlp_kernel.hpp, mlp_train.hpp).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "ntkit/mlp.hpp"
#include "ntkit/mlp_kernel.hpp"
#include "ntkit/mlp_train.hpp"

namespace ntkit::python {
namespace {

EmpiricalOptions empirical_options(const std::vector<std::string>& names, bool full_logits) {
  EmpiricalOptions options;
  options.nngp = options.ntk = false;
  for (const std::string& name : names) (name == "ntk" ? options.ntk : options.nngp) = true;
  options.full_logits = full_logits;
  return options;
}

// The shape of one example as a tuple, (d,) for flat networks.
py::tuple shape_tuple(const std::vector<int>& shape) {
  py::tuple out(shape.size());
  for (std::size_t i = 0; i < shape.size(); ++i) out[i] = shape[i];
  return out;
}

// Mlp(arch, 10) or Mlp(arch, (28, 28, 1)): an int (anything with __index__) is {d}; TypeError
// for anything else.
std::vector<int> input_shape_arg(const py::object& input) {
  const auto size = [&input](const py::handle& value) {
    if (PyIndex_Check(value.ptr()) != 0) {
      try {
        return value.cast<int>();
      } catch (const py::cast_error&) {
        throw py::value_error("Mlp: input size " + py::repr(value).cast<std::string>() + " is out of range");
      }
    }
    throw py::type_error("Mlp: input_dim must be an int d or the shape of one example, e.g. (28, 28, 1), got " +
                         py::repr(input).cast<std::string>());
  };
  if (!py::isinstance<py::sequence>(input) || py::isinstance<py::str>(input)) return {size(input)};
  std::vector<int> shape;
  for (const py::handle& value : py::reinterpret_borrow<py::sequence>(input)) shape.push_back(size(value));
  return shape;
}

// x's examples for a network whose examples have shape `shape` (Mlp::input_shape). Flat
// networks ({d}) take (n, d) (or (n,)) exactly as before; images {H, W, C} and signals {L, C}
// take (n, *shape) or the rows flattened in C order, (n, prod(shape)).
ExamplesArg<double> network_examples(const std::vector<int>& shape, const py::object& x, const char* name) {
  if (shape.size() <= 1) {
    MatrixArg<double> m = matrix_arg<double>(x, name);
    return {std::move(m.array), m.view, {}};
  }
  if (py::isinstance<py::array>(x) && py::reinterpret_borrow<py::array>(x).dtype().kind() == 'c')
    throw py::value_error(std::string(name) + ": complex data is not supported; pass real numbers");
  ContiguousArray<double> array(x);
  Eigen::Index d = 1;
  for (int size : shape) d *= size;
  const py::ssize_t ndim = array.ndim();
  bool fits = ndim == 2 && array.shape(1) == d;
  if (ndim == static_cast<py::ssize_t>(shape.size()) + 1) {
    fits = true;
    for (std::size_t a = 0; a < shape.size(); ++a) fits = fits && array.shape(a + 1) == shape[a];
  }
  if (!fits) {
    std::string given = "(";
    for (py::ssize_t a = 0; a < ndim; ++a) given += (a > 0 ? ", " : "") + std::to_string(array.shape(a));
    given += ndim == 1 ? ",)" : ")";
    const std::string each = example_shape_text(shape, d);
    throw py::value_error(std::string(name) + ": this network takes examples of shape " + each + ": an array (n, " +
                          each.substr(1, each.size() - 2) + ") or (n, " + std::to_string(d) +
                          ") with rows flattened in C order, got shape " + given);
  }
  Eigen::Map<const RowMatrixD> view(array.data(), static_cast<Eigen::Index>(array.shape(0)), d);
  return {std::move(array), view, shape};
}

const std::vector<int>& input_shape_of(const Mlp& net) { return net.input_shape(); }
const std::vector<int>& input_shape_of(const LinearizedMlp& net) { return net.initial().input_shape(); }

using ExamplesOf = std::function<ExamplesArg<double>(const py::object&, const char*)>;

// `compute(x1, x2 or nullptr, options)` with the GIL released; the result as `get` asks.
// `examples` converts x1 and x2; their per-example shape goes to options.input_shape.
py::object empirical(
    const py::object& x1, const py::object& x2, const py::object& get, bool full_logits, const ExamplesOf& examples,
    const std::function<EmpiricalKernels(MatrixView<double>, const MatrixView<double>*, const EmpiricalOptions&)>& compute) {
  const std::vector<std::string> names = requested_kernels(get);
  EmpiricalOptions options = empirical_options(names, full_logits);
  const ExamplesArg<double> a = examples(x1, "x1");
  options.input_shape = a.shape;
  EmpiricalKernels k;
  if (x2.is_none()) {
    py::gil_scoped_release nogil;
    k = compute(a.view, nullptr, options);
  } else {
    const ExamplesArg<double> b = examples(x2, "x2");
    require_same_shape(a, b);
    const MatrixView<double> b_view = b.view;
    py::gil_scoped_release nogil;
    k = compute(a.view, &b_view, options);
  }
  return select_kernels(std::move(k), names, py::isinstance<py::str>(get));
}

py::list dense_parameters(const Mlp& net) {
  py::list out;
  for (const Mlp::DenseParameters& p : net.dense_parameters()) {
    out.append(py::dict(py::arg("in_dim") = p.in, py::arg("out_dim") = p.out, py::arg("weight_offset") = p.weight_offset,
                        py::arg("bias_offset") = p.bias_offset));
  }
  return out;
}

struct MlpTrainArguments {
  double learning_rate;
  int steps;
  std::string optimizer, loss;
  int batch_size;
  double momentum;
  int record_every;
  bool record_kernel_drift;
  std::uint64_t seed;
};

// Trains an Mlp or a LinearizedMlp in place; progress and Ctrl-C as TwoLayerNet.train.
template <class Net>
TrainTrace train_network(Net& net, const py::object& x, const py::object& y, const py::object& x_test,
                         const MlpTrainArguments& arguments, const py::object& progress) {
  const std::vector<int>& shape = input_shape_of(net);
  const ExamplesArg<double> train_x = network_examples(shape, x, "x");
  const MatrixArg<double> targets = matrix_arg<double>(y, "y");
  const Eigen::Index d = train_x.view.cols();
  const py::object test_input = x_test.is_none() ? py::object(py::array_t<double>(std::vector<py::ssize_t>{0, d})) : x_test;
  const ExamplesArg<double> test_x = network_examples(shape, test_input, "x_test");
  TrainOptions options;
  options.learning_rate = arguments.learning_rate;
  options.steps = arguments.steps;
  options.optimizer = parse_optimizer(arguments.optimizer);
  options.loss = parse_loss(arguments.loss);
  options.batch_size = arguments.batch_size;
  options.momentum = arguments.momentum;
  options.record_every = arguments.record_every;
  options.record_kernel_drift = arguments.record_kernel_drift;
  options.seed = arguments.seed;
  const auto after_step = [&progress](int step) {
    py::gil_scoped_acquire gil;
    if (!progress.is_none()) progress(step);
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
  };
  py::gil_scoped_release nogil;
  return train(net, train_x.view, targets.view, test_x.view, options, after_step);
}

// Records (one per recorded step) of n x O matrices → (records, n, O).
py::array stack(const std::vector<RowMatrixD>& records) {
  const py::ssize_t n = records.empty() ? 0 : records.front().rows();
  const py::ssize_t o = records.empty() ? 0 : records.front().cols();
  py::array_t<double> out(std::vector<py::ssize_t>{static_cast<py::ssize_t>(records.size()), n, o});
  double* data = out.mutable_data();
  for (const RowMatrixD& r : records) data = std::copy(r.data(), r.data() + r.size(), data);
  return out;
}

template <class Net, class Class>
void def_train(Class& cls) {
  cls.def(
      "train",
      [](Net& net, const py::object& x, const py::object& y, double learning_rate, int steps, const py::object& x_test,
         const std::string& optimizer, const std::string& loss, int batch_size, double momentum, int record_every,
         bool record_kernel_drift, std::uint64_t seed, const py::object& progress) {
        return train_network(net, x, y, x_test,
                             MlpTrainArguments{learning_rate, steps, optimizer, loss, batch_size, momentum, record_every,
                                               record_kernel_drift, seed},
                             progress);
      },
      py::arg("x"), py::arg("y"), py::kw_only(), py::arg("learning_rate"), py::arg("steps"), py::arg("x_test") = py::none(),
      py::arg("optimizer") = "gd", py::arg("loss") = "mse", py::arg("batch_size") = 0, py::arg("momentum") = 0.9,
      py::arg("record_every") = 1, py::arg("record_kernel_drift") = true, py::arg("seed") = 0,
      py::arg("progress") = py::none(),
      R"doc(Trains in place on x (n, d) or (n, *input_shape), y (n, O); returns an MlpTrainTrace (steps 0, record_every, ...,
steps). optimizer: "gd", "sgd" (batch_size examples per step, 0: min(32, n); order from
`seed`), "momentum" (momentum μ in [0, 1)). loss: "mse" (½ mean), "mse-sum" (½ Σ) or
"cross-entropy" (softmax over the O outputs; y one-hot or probabilities). x_test (n*, ...) is
only evaluated. record_kernel_drift: the empirical NTK's relative change on x at every
record (O(n² Σ widths)). progress(step) after every step; Ctrl-C stops training.
Raises ValueError for bad options or data, or a diverging run (naming the step).)doc");
}

}  // namespace

void bind_mlp(py::module_& m) {
  py::class_<TrainTrace>(m, "MlpTrainTrace", "What Mlp.train / LinearizedMlp.train recorded, one entry per record.")
      .def_property_readonly(
          "steps", [](const TrainTrace& t) { return py::array(py::cast(t.steps)); }, "(records,).")
      .def_property_readonly(
          "loss", [](const TrainTrace& t) { return py::array(py::cast(t.loss)); },
          "Loss on the whole training set, (records,).")
      .def_property_readonly(
          "train_outputs", [](const TrainTrace& t) { return stack(t.train_outputs); }, "f(X), (records, n, O).")
      .def_property_readonly(
          "test_outputs", [](const TrainTrace& t) { return stack(t.test_outputs); },
          "f(X*), (records, n*, O); (0, 0, 0) without a test set.")
      .def_property_readonly(
          "weight_rel_change", [](const TrainTrace& t) { return py::array(py::cast(t.weight_rel_change)); },
          "‖w(t) - w(0)‖ / ‖w(0)‖, (records,).")
      .def_property_readonly(
          "kernel_rel_drift", [](const TrainTrace& t) { return py::array(py::cast(t.kernel_rel_drift)); },
          "‖Θ_t - Θ_0‖_F / ‖Θ_0‖_F on X, (records,); empty if not recorded.");

  py::class_<Mlp> mlp(m, "Mlp", R"doc(A finite network of the same description as ntkit.kernel, with widths from
Dense(n, ...) and parameters drawn as neural-tangents' stax.Dense does ('ntk': W, b ~ N(0, 1),
z = (W_std/√n_in) W h + b_std b; 'standard': W ~ N(0, W_std²/n_in), b ~ N(0, b_std²)), from
a generator seeded by `seed` (same seed, same network). Every layer of the text runs.

input_dim: d for flat examples, or the shape of one example: (H, W, C) for images (channels
last) or (L, C) for signals, as ntkit.kernel takes them; every method that takes x then takes
(n, *input_shape) or the rows flattened in C order, (n, d).

Raises ValueError for an invalid network, input_dim < 1 or a shape the layers do not fit;
TypeError if arch is neither a str nor a Network.)doc");
  mlp.def(py::init([](const py::object& arch, const py::object& input_dim, std::uint64_t seed) {
            return Mlp(as_network(arch), input_shape_arg(input_dim), seed);
          }),
          py::arg("arch"), py::arg("input_dim"), py::kw_only(), py::arg("seed") = 0)
      .def_property_readonly("input_dim", &Mlp::input_dim, "d, the values per example (the product of input_shape).")
      .def_property_readonly(
          "input_shape", [](const Mlp& net) { return shape_tuple(net.input_shape()); },
          "The shape of one example: (d,), (L, C) or (H, W, C).")
      .def_property_readonly("output_dim", &Mlp::output_dim, "O, the last Dense's out_dim.")
      .def_property_readonly("network", &Mlp::network, "The network description (a copy).")
      .def_property_readonly("parameter_count", &Mlp::parameter_count, "P, the number of parameters.")
      .def_property_readonly(
          "parameters", [](const Mlp& net) -> const VectorD& { return net.parameters(); },
          py::return_value_policy::reference_internal, "All parameters, (P,): a read-only view that follows training.")
      .def(
          "set_parameters", [](Mlp& net, const py::object& p) { net.set_parameters(vector_arg(p, "parameters")); },
          py::arg("parameters"), "Replaces all parameters (length P, finite; ValueError otherwise).")
      .def("dense_parameters", &dense_parameters,
           "Where each Dense's parameters lie in `parameters`, in drawing order: dicts with in_dim, out_dim, "
           "weight_offset (W is out_dim x in_dim, row-major) and bias_offset (-1: no bias).")
      .def(
          "forward",
          [](const Mlp& net, const py::object& x) {
            const ExamplesArg<double> a = network_examples(net.input_shape(), x, "x");
            py::gil_scoped_release nogil;
            return net.forward(a.view);
          },
          py::arg("x"), "f(x) for x (n, d) or (n, *input_shape) → (n, O).")
      .def(
          "__call__",
          [](const Mlp& net, const py::object& x) {
            const ExamplesArg<double> a = network_examples(net.input_shape(), x, "x");
            py::gil_scoped_release nogil;
            return net.forward(a.view);
          },
          py::arg("x"), "Same as forward(x).")
      .def(
          "vjp",
          [](const Mlp& net, const py::object& x, const py::object& cotangent) {
            const ExamplesArg<double> a = network_examples(net.input_shape(), x, "x");
            const MatrixArg<double> g = matrix_arg<double>(cotangent, "cotangent");
            py::gil_scoped_release nogil;
            return net.vjp(a.view, g.view);
          },
          py::arg("x"), py::arg("cotangent"),
          "Σ_i Σ_o G[i, o] ∂f_o(x_i)/∂w, (P,), for x (n, d) or (n, *input_shape) and G (n, O): with G = ∂L/∂f, the gradient "
          "of L.")
      .def(
          "jvp",
          [](const Mlp& net, const py::object& x, const py::object& tangent) {
            const ExamplesArg<double> a = network_examples(net.input_shape(), x, "x");
            const VectorD v = vector_arg(tangent, "tangent");
            py::gil_scoped_release nogil;
            return net.jvp(a.view, v);
          },
          py::arg("x"), py::arg("tangent"), "J(x) v, (n, O), for a tangent v of length P.")
      .def(
          "empirical_kernel",
          [](const Mlp& net, const py::object& x1, const py::object& x2, const py::object& get, bool full_logits) {
            const ExamplesOf examples = [&net](const py::object& x, const char* name) {
              return network_examples(net.input_shape(), x, name);
            };
            return empirical(x1, x2, get, full_logits, examples,
                             [&](MatrixView<double> a, const MatrixView<double>* b, const EmpiricalOptions& options) {
                               return b ? empirical_kernels(net, a, *b, options) : empirical_kernels(net, a, options);
                             });
          },
          py::arg("x1"), py::arg("x2") = py::none(), py::kw_only(), py::arg("get") = "ntk", py::arg("full_logits") = false,
          R"doc(This network's empirical NTK Θ(x, x') = Σ_p ∂f(x)/∂w_p ∂f(x')/∂w_p and/or NNGP between x1
(n1, d) and x2 (n2, d), or (n, *input_shape) each (x2=None: K(x1, x1), exactly symmetric), averaged over the O logits
(neural-tangents' trace_axes=(-1,)); full_logits: the (n1·O, n2·O) matrix of every logit
pair. get as in ntkit.kernel. Raises ValueError for mismatched, empty or non-finite input.)doc")
      .def("__copy__", [](const Mlp& net) { return Mlp(net); })
      .def(
          "__deepcopy__", [](const Mlp& net, const py::dict&) { return Mlp(net); }, py::arg("memo"))
      .def(py::pickle(
          [](const Mlp& net) {
            return py::make_tuple(to_string(net.network()), shape_tuple(net.input_shape()), py::cast(net.parameters()));
          },
          [](const py::tuple& state) {
            // state[1]: the shape, or the input_dim int of older pickles.
            Mlp net(parse_network(state[0].cast<std::string>()), input_shape_arg(state[1]), 0);
            net.set_parameters(vector_arg(state[2], "parameters"));
            return net;
          }));
  def_train<Mlp>(mlp);

  py::class_<LinearizedMlp> linearized(m, "LinearizedMlp", R"doc(The first-order Taylor expansion of an Mlp around its
current parameters w0: f_lin(w, x) = f(w0, x) + J(x)(w - w0), linear in w. Trained by
gradient descent on "mse-sum" it follows kernel gradient descent with the empirical NTK
Θ(w0) exactly.)doc");
  linearized.def(py::init<Mlp>(), py::arg("initial"))
      .def(
          "forward",
          [](const LinearizedMlp& net, const py::object& x) {
            const ExamplesArg<double> a = network_examples(net.initial().input_shape(), x, "x");
            py::gil_scoped_release nogil;
            return net.forward(a.view);
          },
          py::arg("x"), "f_lin(w, x) for x (n, d) or (n, *input_shape) → (n, O).")
      .def_property_readonly(
          "parameters", [](const LinearizedMlp& net) -> const VectorD& { return net.parameters(); },
          py::return_value_policy::reference_internal, "w, (P,): a read-only view that follows training.")
      .def(
          "set_parameters", [](LinearizedMlp& net, const py::object& p) { net.set_parameters(vector_arg(p, "parameters")); },
          py::arg("parameters"), "Replaces w (length P, finite).")
      .def_property_readonly(
          "initial", [](const LinearizedMlp& net) { return Mlp(net.initial()); }, "The network at w0 (a copy).");
  def_train<LinearizedMlp>(linearized);

  m.def(
      "monte_carlo_kernel",
      [](const py::object& arch, const py::object& x1, const py::object& x2, int samples, std::uint64_t seed,
         const py::object& get, bool full_logits) {
        const Network network = as_network(arch);
        const ExamplesOf examples = [](const py::object& x, const char* name) { return examples_arg<double>(x, name); };
        return empirical(x1, x2, get, full_logits, examples,
                         [&](MatrixView<double> a, const MatrixView<double>* b, EmpiricalOptions options) {
                           options.progress = python_interrupt_check();  // Ctrl-C between networks
                           return b ? monte_carlo_kernels(network, a, *b, samples, seed, options)
                                    : monte_carlo_kernels(network, a, samples, seed, options);
                         });
      },
      py::arg("arch"), py::arg("x1"), py::arg("x2") = py::none(), py::kw_only(), py::arg("samples"), py::arg("seed") = 0,
      py::arg("get") = "ntk", py::arg("full_logits") = false,
      R"doc(The average of Mlp(arch, d, seed=s_i).empirical_kernel(x1, x2) over `samples` >= 1 networks
(images (N, H, W, C) and signals (N, L, C): Mlp(arch, x1.shape[1:], ...), as ntkit.kernel)
(sample i's seed mixes `seed` and i, so it is the same network whatever `samples` is). It
converges to ntkit.kernel(arch, ...) as the widths grow. Raises ValueError as
Mlp.empirical_kernel, and for samples < 1.)doc");
}

}  // namespace ntkit::python
