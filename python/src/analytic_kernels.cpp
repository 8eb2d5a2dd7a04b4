// ntkit.Network, ntkit.parse_network and ntkit.kernel: infinite-width NNGP/NTK of deep
// networks (network.hpp, analytic.hpp).
#include <string>
#include <vector>

#include <pybind11/operators.h>

#include "arrays.hpp"
#include "bindings.hpp"
#include "ntkit/analytic.hpp"
#include "ntkit/io.hpp"
#include "ntkit/network.hpp"

namespace ntkit::python {

// arch: a Network or its text.
Network as_network(const py::handle& arch) {
  if (py::isinstance<py::str>(arch)) return parse_network(arch.cast<std::string>());
  if (py::isinstance<Network>(arch)) return arch.cast<Network>();
  throw py::type_error("kernel: arch must be a str such as \"Dense(512), Relu, Dense(1)\" or an ntkit.Network, got " +
                       py::str(py::type::of(arch)).cast<std::string>());
}

// get: "ntk", "nngp" or a sequence of them; the result follows its order.
std::vector<std::string> requested_kernels(const py::handle& get) {
  std::vector<std::string> names;
  if (py::isinstance<py::str>(get)) {
    names.push_back(get.cast<std::string>());
  } else if (py::isinstance<py::tuple>(get) || py::isinstance<py::list>(get)) {
    for (const py::handle item : get) names.push_back(py::str(item).cast<std::string>());
  }
  if (names.empty())
    throw py::value_error("kernel: get must be \"ntk\", \"nngp\" or a tuple of them, got " +
                          py::repr(get).cast<std::string>());
  for (const std::string& name : names) {
    if (name != "ntk" && name != "nngp")
      throw py::value_error("kernel: get: unknown kernel '" + name + "'; choose \"ntk\" or \"nngp\"");
  }
  return names;
}

namespace {

AnalyticOptions options_for(const std::vector<std::string>& names, int quadrature_degree, int fixed_layers) {
  AnalyticOptions options;
  options.fixed_layers = fixed_layers;
  options.nngp = options.ntk = false;
  for (const std::string& name : names) (name == "ntk" ? options.ntk : options.nngp) = true;
  options.quadrature_degree = quadrature_degree;
  options.progress = python_interrupt_check();
  return options;
}

// Float32 inputs (both) compute in float32, anything else in float64, as the classic kernels.
// Images (N, H, W, C) and signals (N, L, C) pass their per-example shape to the engine.
template <class T>
py::object analytic_typed(const Network& network, const py::object& x1, const py::object& x2, AnalyticOptions options,
                          const std::vector<std::string>& names, bool single) {
  const ExamplesArg<T> a = examples_arg<T>(x1, "x1");
  options.input_shape = a.shape;
  AnalyticKernelsOf<T> k;
  if (x2.is_none()) {
    py::gil_scoped_release nogil;
    k = analytic_kernels(network, a.view, options);
  } else {
    const ExamplesArg<T> b = examples_arg<T>(x2, "x2");
    require_same_shape(a, b);
    py::gil_scoped_release nogil;
    k = analytic_kernels(network, a.view, b.view, options);
  }
  return select_kernels(std::move(k), names, single);
}

py::object analytic_kernel(const py::object& arch, const py::object& x1, const py::object& x2, const py::object& get,
                           int quadrature_degree, int fixed_layers) {
  const Network network = as_network(arch);
  const std::vector<std::string> names = requested_kernels(get);
  const AnalyticOptions options = options_for(names, quadrature_degree, fixed_layers);
  const bool single = py::isinstance<py::str>(get);
  if (all_float32({x1, x2})) return analytic_typed<float>(network, x1, x2, options, names, single);
  return analytic_typed<double>(network, x1, x2, options, names, single);
}

py::object analytic_diagonal(const py::object& arch, const py::object& x, const py::object& get, int quadrature_degree,
                             int fixed_layers) {
  const Network network = as_network(arch);
  const std::vector<std::string> names = requested_kernels(get);
  AnalyticOptions options = options_for(names, quadrature_degree, fixed_layers);
  const ExamplesArg<double> a = examples_arg<double>(x, "x");
  options.input_shape = a.shape;
  AnalyticDiagonal diagonal;
  {
    py::gil_scoped_release nogil;
    diagonal = analytic_kernel_diagonal(network, a.view, options);
  }
  const auto vector = [&](const std::string& name) {
    return py::cast(VectorD(name == "ntk" ? diagonal.ntk : diagonal.nngp));
  };
  if (py::isinstance<py::str>(get)) return vector(names[0]);
  py::tuple out(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) out[i] = vector(names[i]);
  return out;
}

// Writes the requested kernels to .npy files (write_analytic_kernels_npy: panel by panel through
// memory-mapped files, each file complete or absent).
void kernel_to_npy(const py::object& arch, const py::object& x1, const py::object& x2, const py::object& ntk,
                   const py::object& nngp, const std::string& dtype, int quadrature_degree, long panel_rows,
                   int fixed_layers) {
  const Network network = as_network(arch);
  AnalyticOutputFiles files;
  const auto path = [](const py::object& p) {
    return py::str(py::module_::import("os").attr("fspath")(p)).cast<std::string>();
  };
  if (!ntk.is_none()) files.ntk = path(ntk);
  if (!nngp.is_none()) files.nngp = path(nngp);
  if (files.ntk.empty() && files.nngp.empty())
    throw py::value_error("kernel_to_npy: give an output path: ntk=\"ntk.npy\" and/or nngp=\"nngp.npy\"");
  if (!files.ntk.empty() && files.ntk == files.nngp)
    throw py::value_error("kernel_to_npy: ntk and nngp must be different files, got '" + files.ntk + "' for both");
  DType type;
  if (dtype == "float64") type = DType::Float64;
  else if (dtype == "float32") type = DType::Float32;
  else throw py::value_error("kernel_to_npy: dtype must be \"float32\" or \"float64\", got '" + dtype + "'");
  if (panel_rows < 0) throw py::value_error("kernel_to_npy: panel_rows must be >= 0 (0 chooses automatically)");
  AnalyticOptions options;
  options.quadrature_degree = quadrature_degree;
  options.fixed_layers = fixed_layers;
  options.panel_rows = static_cast<Eigen::Index>(panel_rows);
  options.progress = python_interrupt_check();
  const ExamplesArg<double> a = examples_arg<double>(x1, "x1");
  options.input_shape = a.shape;
  if (x2.is_none()) {
    py::gil_scoped_release nogil;
    write_analytic_kernels_npy(network, a.view, nullptr, type, files, options);
    return;
  }
  const ExamplesArg<double> b = examples_arg<double>(x2, "x2");
  require_same_shape(a, b);
  const MatrixView<double> b_view(b.view);
  py::gil_scoped_release nogil;
  write_analytic_kernels_npy(network, a.view, &b_view, type, files, options);
}

}  // namespace

void bind_analytic_kernels(py::module_& m) {
  py::class_<Network>(m, "Network", R"doc(A network description: a list of layers with neural-tangents' names,
arguments and defaults (Dense, Relu, Erf, Gelu, Residual(...), ...).

Network("Dense(512, W_std=1.5, b_std=0.05), Relu, Dense(1)") parses and validates the
text (case-insensitive). str(net) is the canonical text, and Network(str(net)) == net.
Raises ValueError with the column, a caret under the text and the closest valid name for
a typo, or naming the layer for an invalid structure.)doc")
      .def(py::init(&parse_network), py::arg("text"))
      .def("__str__", [](const Network& network) { return to_string(network); })
      .def(
          "__repr__",
          [](const Network& network) { return "Network(" + py::repr(py::str(to_string(network))).cast<std::string>() + ")"; })
      .def(py::self == py::self)
      .def("__hash__", [](const Network& network) { return py::hash(py::str(to_string(network))); })
      .def(py::pickle([](const Network& network) { return to_string(network); },
                      [](const std::string& text) { return parse_network(text); }));

  m.def("parse_network", &parse_network, py::arg("text"),
        "Parses and validates a network's text; the same as Network(text).");

  m.def("kernel", &analytic_kernel, py::arg("arch"), py::arg("x1"), py::arg("x2") = py::none(), py::kw_only(),
        py::arg("get") = "ntk", py::arg("quadrature_degree") = AnalyticOptions{}.quadrature_degree,
        py::arg("fixed_layers") = 0,
        R"doc(Infinite-width NTK and/or NNGP of a deep network between x1 (n1, d) and x2 (n2, d).

x1, x2 may also be images (N, H, W, C), channels last as neural-tangents, or 1-D signals
(N, L, C), for networks with Conv, AvgPool, GlobalAvgPool or Flatten layers; both need the
same shape per example. Flatten first on images equals the flat call on x.reshape(len(x), -1).

arch: the network's text, e.g. "Dense(512, W_std=1.5, b_std=0.05), Relu, Dense(1)", or
an ntkit.Network. x2=None: K(x1, x1), exactly symmetric. get: "ntk" or "nngp" returns one
(n1, n2) array; a tuple such as ("nngp", "ntk") returns a tuple of arrays in that order.
quadrature_degree: the rule for activations without a closed form (Tanh, Softplus, Elu,
Selu, Silu), as the library's AnalyticOptions (see the C++ header analytic.hpp).
fixed_layers: the NTK of the network whose first fixed_layers Dense layers are fixed (not
trained; Arora et al. 2020): 0 (all trained) to the number of Dense layers - 1 (only the
readout trained: the NTK equals the NNGP). The NNGP does not change.
Conventions and formulas are neural-tangents' (kernel_fn(x1, x2, get)). float32 inputs
(both) compute in float32, anything else in float64. The GIL is released while computing.

Raises ValueError for text that does not parse (with the column), an invalid or unsupported
network, different column counts, NaN/Inf input or an unknown get; TypeError
if arch is neither a str nor a Network.)doc");

  m.def("kernel_diagonal", &analytic_diagonal, py::arg("arch"), py::arg("x"), py::kw_only(), py::arg("get") = "ntk",
        py::arg("quadrature_degree") = AnalyticOptions{}.quadrature_degree, py::arg("fixed_layers") = 0,
        R"doc(k(x_i, x_i) for every row of x, shape (n,) (a tuple of them for a tuple get): the
diagonal of kernel(arch, x, get=get) in O(n), in float64. Same arguments (images too) and errors
as kernel.)doc");

  m.def("kernel_to_npy", &kernel_to_npy, py::arg("arch"), py::arg("x1"), py::arg("x2") = py::none(), py::kw_only(),
        py::arg("ntk") = py::none(), py::arg("nngp") = py::none(), py::arg("dtype") = "float64",
        py::arg("quadrature_degree") = AnalyticOptions{}.quadrature_degree, py::arg("panel_rows") = 0,
        py::arg("fixed_layers") = 0,
        R"doc(Computes kernel(arch, x1, x2) straight into .npy files, out of core: the kernel is
computed panel by panel of rows into memory-mapped files, so it may be larger than memory
(n = 100 000 in float32 is 40 GB), as `ntkit kernel ... -o K.npy` does. Open the result
with np.load(path, mmap_mode="r").

ntk, nngp: output paths (str or os.PathLike); give one or both, the kernels not given are
not computed. dtype: "float64" or "float32" (the numbers kernel() gives for float32 inputs:
a float32 Gram matrix, the layers in float64).
panel_rows: rows per panel (0: about 1 GiB of output per panel). fixed_layers: as in
kernel. x2=None: K(x1, x1),
symmetric. Each file appears only when complete (written atomically); on an error nothing
is left behind. The GIL is released while computing. Returns None.

Raises ValueError as kernel does, for no output path, the same path twice, an unknown
dtype, panel_rows < 0, or a file that cannot be written.)doc");
}

}  // namespace ntkit::python
