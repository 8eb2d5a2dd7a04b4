// ntkit.classic_kernel / classic_kernel_diagonal: linear, polynomial, RBF and arc-cosine
// kernels (kernels.hpp), in float32 when the inputs are float32 arrays, else float64.
#include <optional>
#include <string>

#include "arrays.hpp"
#include "bindings.hpp"
#include "ntkit/kernels.hpp"

namespace ntkit::python {
namespace {

struct KernelParameters {
  std::string kernel;
  int degree;
  double c;
  std::optional<double> gamma;
  int order;

  // gamma = None means 1/d, as in the command-line tool (and scikit-learn's rbf_kernel).
  KernelSpec spec(Eigen::Index input_dim) const {
    KernelSpec spec;
    spec.kind = parse_kernel_kind(kernel);
    spec.degree = degree;
    spec.c = c;
    spec.gamma = gamma ? *gamma : 1.0 / static_cast<double>(std::max<Eigen::Index>(input_dim, 1));
    spec.order = order;
    spec.validate();
    return spec;
  }
};

template <class T>
py::array kernel_typed(const KernelParameters& parameters, const py::object& x1, const py::object& x2) {
  const MatrixArg<T> a = matrix_arg<T>(x1, "x1");
  const KernelSpec spec = parameters.spec(a.view.cols());
  RowMatrix<T> k;
  if (x2.is_none()) {
    py::gil_scoped_release nogil;
    k = kernel_matrix<T>(spec, a.view);
  } else {
    const MatrixArg<T> b = matrix_arg<T>(x2, "x2");
    py::gil_scoped_release nogil;
    k = kernel_matrix<T>(spec, a.view, b.view);
  }
  return to_numpy(std::move(k));
}

template <class T>
py::array diagonal_typed(const KernelParameters& parameters, const py::object& x) {
  const MatrixArg<T> a = matrix_arg<T>(x, "x");
  const KernelSpec spec = parameters.spec(a.view.cols());
  Vector<T> diagonal;
  {
    py::gil_scoped_release nogil;
    diagonal = kernel_diagonal<T>(spec, a.view);
  }
  return py::cast(std::move(diagonal));
}

}  // namespace

void bind_classic_kernels(py::module_& m) {
  m.def(
      "classic_kernel",
      [](const py::object& x1, const py::object& x2, const std::string& kernel, int degree, double c,
         std::optional<double> gamma, int order) {
        const KernelParameters parameters{kernel, degree, c, gamma, order};
        if (all_float32({x1, x2})) return kernel_typed<float>(parameters, x1, x2);
        return kernel_typed<double>(parameters, x1, x2);
      },
      py::arg("x1"), py::arg("x2") = py::none(), py::kw_only(), py::arg("kernel") = "linear", py::arg("degree") = 2,
      py::arg("c") = 1.0, py::arg("gamma") = py::none(), py::arg("order") = 1,
      R"doc(Classic kernel matrix K(x1, x2), shape (n1, n2); K(x1, x1) when x2 is None.

kernel: "linear" x·y | "polynomial" (c + x·y)^degree | "rbf" exp(-gamma ‖x - y‖²)
(gamma=None: 1/d) | "arccos" of order 0, 1 or 2 (Cho & Saul 2009). Rows are examples;
a 1-D input is a column. float32 inputs (both) compute in float32, anything else in
float64. C-contiguous inputs of that dtype are read in place, others copied once.
K(x1, x1) is exactly symmetric. The GIL is released while computing.

Raises ValueError for an unknown kernel name, a parameter out of range (degree in
[1, 64], gamma > 0, order in {0, 1, 2}), different column counts, or NaN/Inf input.)doc");

  m.def(
      "classic_kernel_diagonal",
      [](const py::object& x, const std::string& kernel, int degree, double c, std::optional<double> gamma, int order) {
        const KernelParameters parameters{kernel, degree, c, gamma, order};
        if (all_float32({x})) return diagonal_typed<float>(parameters, x);
        return diagonal_typed<double>(parameters, x);
      },
      py::arg("x"), py::kw_only(), py::arg("kernel") = "linear", py::arg("degree") = 2, py::arg("c") = 1.0,
      py::arg("gamma") = py::none(), py::arg("order") = 1,
      R"doc(k(x_i, x_i) for every row of x, shape (n,): the diagonal of classic_kernel(x)
without the rest. Same kernels, parameters, dtypes and errors as classic_kernel.)doc");
}

}  // namespace ntkit::python
