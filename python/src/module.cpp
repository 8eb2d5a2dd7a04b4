// ntkit._core: the C++ library as a Python extension. The package ntkit (python/ntkit)
// re-exports it; the scikit-learn estimators are written in Python on top of it.
#include <cstdint>
#include <exception>
#include <string_view>

#include "arrays.hpp"
#include "bindings.hpp"
#include "ntkit/blas_info.hpp"
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
      PyObject* message = PyUnicode_DecodeUTF8(what.data(), static_cast<Py_ssize_t>(what.size()), "backslashreplace");
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

  m.def(
      "blas_info",
      [] {
        const ntkit::BlasInfo b = ntkit::blas_info();
        py::dict out;
        out["library"] = b.library;
        out["version"] = b.version;
        out["core"] = b.core;
        out["threads"] = b.threads;
        out["build"] = b.config;
        out["cpu"] = b.cpu;
        out["cpu_vectors"] = b.cpu_vectors;
        out["generic_core"] = b.generic_core;
        out["replaced_core"] = b.replaced_core;
        out["summary"] = ntkit::describe(b);
        return out;
      },
      R"doc(The BLAS the engine runs on, as a dict: library, version, core (the kernels it runs
on this CPU, e.g. "SkylakeX"), threads, build, cpu, cpu_vectors ("AVX-512", "AVX2" or
"SSE"), generic_core (True when it runs kernels older than the CPU allows: slow),
replaced_core (the library's own generic choice when ntkit replaced it, else "") and summary
(the same as text, as `ntkit info` prints it, with a warning line and its fix if slow).)doc");
  m.def("_openblas_core_to_request", &ntkit::detail::openblas_core_to_request,
        "The OPENBLAS_CORETYPE that would replace generic kernels on this CPU, or '' (see ntkit/_blas.py).");

  bind_classic_kernels(m);
  bind_analytic_kernels(m);
  bind_feature_models(m);
  bind_kernel_ridge(m);
  bind_two_layer(m);
  bind_kernel_dynamics(m);
  bind_mlp(m);
  bind_predict(m);
  bind_io(m);
}
