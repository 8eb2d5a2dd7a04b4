// ntkit.PolynomialFeatureMap, FeatureSpaceRegression and DualKernelRegression: the kernel
// trick applied to training (feature_map.hpp, linear_model.hpp; docs/mathematics.md §1).
#include <cstddef>

#include "arrays.hpp"
#include "bindings.hpp"
#include "ntkit/feature_map.hpp"
#include "ntkit/linear_model.hpp"

namespace ntkit::python {

void bind_feature_models(py::module_& m) {
  py::class_<PolynomialFeatureMap>(m, "PolynomialFeatureMap", R"doc(The explicit polynomial feature map φ with
⟨φ(x), φ(y)⟩ = (c + x·y)^degree exactly: one coordinate per monomial of degree <= degree,
scaled by sqrt(multinomial coefficient · c^(degree - |α|)), ordered by degree, then by the
variables' indices. output_dim = C(d + degree, degree) (only degree-p monomials when c = 0).

Raises ValueError if input_dim < 1, degree < 1, c < 0 or not finite, or the map would have
more than max_features features.)doc")
      .def(py::init<int, int, double, std::size_t>(), py::arg("input_dim"), py::arg("degree"), py::arg("c") = 1.0,
           py::arg("max_features") = std::size_t{1} << 24)
      .def_property_readonly("input_dim", &PolynomialFeatureMap::input_dim, "d, the input dimension.")
      .def_property_readonly("degree", &PolynomialFeatureMap::degree, "p, the polynomial degree.")
      .def_property_readonly("c", &PolynomialFeatureMap::c, "The offset c.")
      .def_property_readonly("output_dim", &PolynomialFeatureMap::output_dim, "D, the number of features.")
      .def(
          "transform",
          [](const PolynomialFeatureMap& map, const py::object& x) {
            const MatrixArg<double> a = matrix_arg<double>(x, "x");
            RowMatrixD features;
            {
              py::gil_scoped_release nogil;
              features = map.transform(a.view);
            }
            return to_numpy(std::move(features));
          },
          py::arg("x"), "φ of every row: x (n, d) → (n, D). Raises ValueError if x does not have d columns.")
      .def("exponents", &PolynomialFeatureMap::exponents, py::arg("feature"),
           "The exponent vector α (length d) of feature number `feature`.");

  using Primal = WithTargetShape<FeatureSpaceRegression>;
  py::class_<Primal>(m, "FeatureSpaceRegression", R"doc(A linear model f(x) = wᵀφ(x) trained by full-batch gradient
descent on L(w) = ½ Σ_j ‖f(x_j) - y_j‖²: w ← w - η Φᵀ(Φw - Y).

features: Φ (n, D); targets: Y (n,) or (n, o); initial_weights: w0 (D, o), zero if None.
Outputs are 1-D when the targets are. Raises ValueError for mismatched shapes or NaN/Inf.)doc")
      .def(py::init([](const py::object& features, const py::object& targets, const py::object& initial_weights) {
             const MatrixArg<double> y = matrix_arg<double>(targets, "targets");
             return Primal{FeatureSpaceRegression(RowMatrixD(matrix_arg<double>(features, "features").view),
                                                  RowMatrixD(y.view), optional_matrix(initial_weights, "initial_weights")),
                           y.is_vector};
           }),
           py::arg("features"), py::arg("targets"), py::arg("initial_weights") = py::none())
      .def(
          "step", [](Primal& self, double learning_rate) { self.model.step(learning_rate); }, py::arg("learning_rate"),
          py::call_guard<py::gil_scoped_release>(), "One gradient-descent step with learning rate η > 0.")
      .def(
          "predict",
          [](const Primal& self, const py::object& features) {
            return to_numpy(self.model.predict(matrix_arg<double>(features, "features").view), self.vector_targets);
          },
          py::arg("features"), "Φ* w for features Φ* (m, D) → (m,) or (m, o).")
      .def(
          "train_outputs", [](const Primal& self) { return to_numpy(self.model.train_outputs(), self.vector_targets); },
          "Outputs on the training points.")
      .def(
          "loss", [](const Primal& self) { return self.model.loss(); }, "½ Σ ‖f(x_j) - y_j‖².")
      .def_property_readonly(
          "weights", [](const Primal& self) { return to_numpy(RowMatrixD(self.model.weights())); }, "w, (D, o) (a copy).");

  using Dual = WithTargetShape<DualKernelRegression>;
  py::class_<Dual>(m, "DualKernelRegression", R"doc(The same model in the dual: f(x) = f0(x) + k(x, X) α, trained
by α ← α - η (f(X) - Y), which needs only K = ΦΦᵀ. Started from α = 0 it gives the same
predictions as FeatureSpaceRegression at every step (the kernel trick applied to training).

kernel: K(X, X) (n, n); targets: Y (n,) or (n, o); initial_train_outputs: f0(X), zero if
None. Raises ValueError for mismatched shapes or NaN/Inf.)doc")
      .def(py::init([](const py::object& kernel, const py::object& targets, const py::object& initial_train_outputs) {
             const MatrixArg<double> y = matrix_arg<double>(targets, "targets");
             return Dual{DualKernelRegression(RowMatrixD(matrix_arg<double>(kernel, "kernel").view), RowMatrixD(y.view),
                                              optional_matrix(initial_train_outputs, "initial_train_outputs")),
                         y.is_vector};
           }),
           py::arg("kernel"), py::arg("targets"), py::arg("initial_train_outputs") = py::none())
      .def(
          "step", [](Dual& self, double learning_rate) { self.model.step(learning_rate); }, py::arg("learning_rate"),
          py::call_guard<py::gil_scoped_release>(), "One gradient-descent step: α ← α - η (f(X) - Y).")
      .def(
          "predict",
          [](const Dual& self, const py::object& cross_kernel, const py::object& initial_outputs) {
            return to_numpy(self.model.predict(matrix_arg<double>(cross_kernel, "cross_kernel").view,
                                               optional_matrix(initial_outputs, "initial_outputs")),
                            self.vector_targets);
          },
          py::arg("cross_kernel"), py::arg("initial_outputs") = py::none(),
          "f0(X*) + K(X*, X) α for the cross kernel K(X*, X) (m, n); initial_outputs f0(X*), zero if None.")
      .def(
          "train_outputs", [](const Dual& self) { return to_numpy(self.model.train_outputs(), self.vector_targets); },
          "Outputs on the training points.")
      .def(
          "loss", [](const Dual& self) { return self.model.loss(); }, "½ Σ ‖f(x_j) - y_j‖².")
      .def_property_readonly(
          "coefficients", [](const Dual& self) { return to_numpy(RowMatrixD(self.model.coefficients())); },
          "α, (n, o) (a copy).");
}

}  // namespace ntkit::python
