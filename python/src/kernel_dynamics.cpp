// ntkit.KernelDynamics: predictions of gradient flow / gradient descent from a kernel alone
// (kernel_dynamics.hpp; docs/mathematics.md §4).
#include <string>

#include "arrays.hpp"
#include "bindings.hpp"
#include "ntkit/kernel_dynamics.hpp"

namespace ntkit::python {

void bind_kernel_dynamics(py::module_& m) {
  using Dynamics = WithTargetShape<KernelDynamics>;
  py::class_<Dynamics>(m, "KernelDynamics", R"doc(Training predicted from a kernel: with the training kernel K = VΛVᵀ
(one eigendecomposition, reused for every time) and u = f(X) - Y,
  gradient flow     u(t) = e^(-Kt) u(0),
                    f_t(X*) = f_0(X*) + K(X*, X) K⁻¹ (I - e^(-Kt)) (Y - f_0(X)),
  gradient descent  u(s) = (I - ηK)^s u(0) after s steps of rate η,
  t = inf           f_∞(X*) = f_0(X*) + K(X*, X) K⁻¹ (Y - f_0(X))  (Cholesky).

k_train: K(X, X) (n, n), symmetric; targets: Y (n,) or (n, o) (outputs have the same
layout). loss: "sum" (L = ½ Σ (f - y)², the lecture's) or "mean" (÷ Y.size,
neural-tangents' gradient_descent_mse). diag_reg adds diag_reg · tr(K)/n · I to K
(diag_reg · I when diag_reg_absolute). f0 arguments default to zero outputs.

Raises ValueError for shape mismatches, NaN/Inf, an unknown loss, t < 0, steps < 0,
learning_rate <= 0, or t = inf with a kernel that is not positive definite (use diag_reg).)doc")
      .def(py::init([](const py::object& k_train, const py::object& targets, const std::string& loss, double diag_reg,
                       bool diag_reg_absolute) {
             const MatrixArg<double> k = matrix_arg<double>(k_train, "k_train");
             const MatrixArg<double> y = matrix_arg<double>(targets, "targets");
             DynamicsOptions options;
             options.normalization = parse_loss_normalization(loss);
             options.diag_reg = diag_reg;
             options.diag_reg_absolute = diag_reg_absolute;
             py::gil_scoped_release nogil;
             return Dynamics{KernelDynamics(k.view, y.view, options), y.is_vector};
           }),
           py::arg("k_train"), py::arg("targets"), py::kw_only(), py::arg("loss") = "sum", py::arg("diag_reg") = 0.0,
           py::arg("diag_reg_absolute") = false)
      .def(
          "train_at_time",
          [](const Dynamics& self, double t, const py::object& f0_train) {
            const RowMatrixD f0 = optional_matrix(f0_train, "f0_train");
            RowMatrixD out;
            {
              py::gil_scoped_release nogil;
              out = self.model.train_at_time(t, f0);
            }
            return to_numpy(std::move(out), self.vector_targets);
          },
          py::arg("t"), py::arg("f0_train") = py::none(), "f_t(X) under gradient flow, t >= 0 or inf; (n,) or (n, o).")
      .def(
          "test_at_time",
          [](const Dynamics& self, double t, const py::object& k_test_train, const py::object& f0_train,
             const py::object& f0_test) {
            const MatrixArg<double> k = matrix_arg<double>(k_test_train, "k_test_train");
            const RowMatrixD f0 = optional_matrix(f0_train, "f0_train");
            const RowMatrixD f0_star = optional_matrix(f0_test, "f0_test");
            RowMatrixD out;
            {
              py::gil_scoped_release nogil;
              out = self.model.test_at_time(t, k.view, f0, f0_star);
            }
            return to_numpy(std::move(out), self.vector_targets);
          },
          py::arg("t"), py::arg("k_test_train"), py::arg("f0_train") = py::none(), py::arg("f0_test") = py::none(),
          "f_t(X*) under gradient flow for K(X*, X) (m, n); (m,) or (m, o).")
      .def(
          "train_after_steps",
          [](const Dynamics& self, long steps, double learning_rate, const py::object& f0_train) {
            const RowMatrixD f0 = optional_matrix(f0_train, "f0_train");
            RowMatrixD out;
            {
              py::gil_scoped_release nogil;
              out = self.model.train_after_steps(steps, learning_rate, f0);
            }
            return to_numpy(std::move(out), self.vector_targets);
          },
          py::arg("steps"), py::arg("learning_rate"), py::arg("f0_train") = py::none(),
          "f(X) after `steps` steps of gradient descent with rate η.")
      .def(
          "test_after_steps",
          [](const Dynamics& self, long steps, double learning_rate, const py::object& k_test_train,
             const py::object& f0_train, const py::object& f0_test) {
            const MatrixArg<double> k = matrix_arg<double>(k_test_train, "k_test_train");
            const RowMatrixD f0 = optional_matrix(f0_train, "f0_train");
            const RowMatrixD f0_star = optional_matrix(f0_test, "f0_test");
            RowMatrixD out;
            {
              py::gil_scoped_release nogil;
              out = self.model.test_after_steps(steps, learning_rate, k.view, f0, f0_star);
            }
            return to_numpy(std::move(out), self.vector_targets);
          },
          py::arg("steps"), py::arg("learning_rate"), py::arg("k_test_train"), py::arg("f0_train") = py::none(),
          py::arg("f0_test") = py::none(), "f(X*) after `steps` steps of gradient descent with rate η.")
      .def_property_readonly(
          "eigenvalues", [](const Dynamics& self) { return py::cast(VectorD(self.model.eigenvalues())); },
          "Eigenvalues of the regularized, normalized training kernel, ascending (clipped at 0).")
      .def(
          "max_stable_learning_rate", [](const Dynamics& self) { return self.model.max_stable_learning_rate(); },
          "2 / λ_max: gradient descent is stable below it.");
}

}  // namespace ntkit::python
