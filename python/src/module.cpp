// ntkit._core: the C++ library as a Python extension. The package ntkit (python/ntkit)
// re-exports it; the scikit-learn estimators are written in Python on top of it.
#include <cstdint>
#include <exception>
#include <string_view>

#include "arrays.hpp"
#include "bindings.hpp"
#include "ntkit/error.hpp"
#include "ntkit/version.hpp"

namespace py = pybind11;
using namespace ntkit::python;

namespace {

// The address the library sees for an input: equal to arr.ctypes.data exactly when the array
// reaches C++ without a copy (the tests check that for C-contiguous float64/float32 input).
template <class T>
std::uintptr_t view_address(const py::handle& x) {
  return reinterpret_cast<std::uintptr_t>(matrix_arg<T>(x, "x").view.data());
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "ntkit's C++ library (Neural Tangent Kernels); use it through the package ntkit.";
  m.attr("__version__") = ntkit::version();

  // ntkit::Error is a user mistake (shape, NaN, unknown name, bad value): ValueError, with the
  // library's message unchanged. (pybind11 would map its base std::invalid_argument the same
  // way; saying so here keeps the contract visible.)
  py::register_exception_translator([](std::exception_ptr error) {
    try {
      if (error) std::rethrow_exception(error);
    } catch (const ntkit::Error& e) {
      // Decoded leniently: a message that quotes the user's own bytes (a file's contents, a
      // string in a network) may not be valid UTF-8, and a strict decode would replace the
      // ValueError with a UnicodeDecodeError that says nothing about the mistake.
      const std::string_view what = e.what();
      PyObject* message = PyUnicode_DecodeUTF8(what.data(), static_cast<Py_ssize_t>(what.size()),
                                               "backslashreplace");
      if (message == nullptr) {
        PyErr_Clear();
        py::set_error(PyExc_ValueError, "ntkit: (the error message could not be decoded)");
        return;
      }
      PyErr_SetObject(PyExc_ValueError, message);
      Py_DECREF(message);
    }
  });

  m.def("_view_address_float64", &view_address<double>, py::arg("x"),
        "Address of the float64 data the library would read for x (tests: no copy).");
  m.def("_view_address_float32", &view_address<float>, py::arg("x"),
        "Address of the float32 data the library would read for x (tests: no copy).");

  bind_classic_kernels(m);
  bind_analytic_kernels(m);
  bind_feature_models(m);
  bind_kernel_ridge(m);
  bind_two_layer(m);
  bind_kernel_dynamics(m);
  bind_mlp(m);
  bind_predict(m);
}
