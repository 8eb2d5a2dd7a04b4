// ntkit.KernelRidge and ntkit.select_ridge_lambda: kernel ridge regression on a precomputed
// kernel (kernel_ridge.hpp).
#include <cstdint>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "ntkit/kernel_ridge.hpp"

namespace ntkit::python {

void bind_kernel_ridge(py::module_& m) {
  using Ridge = WithTargetShape<KernelRidge>;
  py::class_<Ridge>(m, "KernelRidge", R"doc(Kernel ridge regression on a precomputed kernel, by Cholesky:
fit solves (K + lam·I) α = Y; predict returns K(X*, X) α. lam = 0 is kernel interpolation
(the t = ∞ limit of gradient flow) and needs K positive definite.)doc")
      .def(py::init([] {
        return Ridge{KernelRidge(), false};
      }))
      .def(
          "fit",
          [](Ridge& self, const py::object& kernel, const py::object& targets, double lam) -> Ridge& {
            const MatrixArg<double> k = matrix_arg<double>(kernel, "kernel");
            const MatrixArg<double> y = matrix_arg<double>(targets, "targets");
            {
              py::gil_scoped_release nogil;
              self.model.fit(k.view, y.view, lam);
            }
            self.vector_targets = y.is_vector;
            return self;
          },
          py::arg("kernel"), py::arg("targets"), py::arg("lam"), py::return_value_policy::reference_internal,
          R"doc(Fits on K(X, X) (n, n) and Y (n,) or (n, o); returns self. Raises ValueError for
mismatched shapes, lam < 0, NaN/Inf, or K + lam·I not positive definite (use lam > 0).)doc")
      .def(
          "predict",
          [](const Ridge& self, const py::object& cross_kernel) {
            const MatrixArg<double> k = matrix_arg<double>(cross_kernel, "cross_kernel");
            RowMatrixD prediction;
            {
              py::gil_scoped_release nogil;
              prediction = self.model.predict(k.view);
            }
            return to_numpy(std::move(prediction), self.vector_targets);
          },
          py::arg("cross_kernel"),
          "K(X*, X) (m, n) → predictions (m,) or (m, o). Raises ValueError before fit or for a wrong shape.")
      .def_property_readonly(
          "dual_coef", [](const Ridge& self) { return to_numpy(RowMatrixD(self.model.dual_coef()), self.vector_targets); },
          "α, (n,) or (n, o) (a copy).")
      .def_property_readonly(
          "fitted", [](const Ridge& self) { return self.model.fitted(); }, "Whether fit has run.");

  py::class_<RidgeSelection>(m, "RidgeSelection", "The result of select_ridge_lambda.")
      .def_readonly("lambda_", &RidgeSelection::lambda, "The candidate with the smallest mean validation error.")
      .def_readonly("lambdas", &RidgeSelection::lambdas, "The candidates, as given.")
      .def_readonly("mean_squared_error", &RidgeSelection::mean_squared_error,
                    "Mean over folds of the validation MSE, per candidate (inf where K + lam·I failed).")
      .def("__repr__", [](const RidgeSelection& s) {
        return "RidgeSelection(lambda_=" + py::repr(py::float_(s.lambda)).cast<std::string>() + ")";
      });

  m.def(
      "select_ridge_lambda",
      [](const py::object& kernel, const py::object& targets, const std::vector<double>& lambdas, int folds,
         std::uint64_t seed) {
        const MatrixArg<double> k = matrix_arg<double>(kernel, "kernel");
        const MatrixArg<double> y = matrix_arg<double>(targets, "targets");
        py::gil_scoped_release nogil;
        return select_ridge_lambda(k.view, y.view, lambdas, folds, seed);
      },
      py::arg("kernel"), py::arg("targets"), py::arg("lambdas"), py::kw_only(), py::arg("folds") = 5, py::arg("seed") = 0,
      R"doc(Chooses lam among `lambdas` by k-fold cross-validation on the precomputed K(X, X) (n, n)
and Y (n,) or (n, o); folds come from a shuffle seeded by `seed`. Raises ValueError for no
candidates, folds outside [2, n], mismatched shapes, NaN/Inf, or if every candidate fails.)doc");
}

}  // namespace ntkit::python
