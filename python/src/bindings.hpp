// The parts of the module ntkit._core, one concept per file (module.cpp puts them together).
#pragma once

#include <pybind11/pybind11.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "arrays.hpp"
#include "ntkit/network.hpp"

namespace ntkit::python {

void bind_classic_kernels(pybind11::module_& m);   // classic_kernels.cpp
void bind_analytic_kernels(pybind11::module_& m);  // analytic_kernels.cpp
void bind_feature_models(pybind11::module_& m);    // feature_models.cpp
void bind_kernel_ridge(pybind11::module_& m);      // kernel_ridge.cpp
void bind_two_layer(pybind11::module_& m);         // two_layer.cpp
void bind_kernel_dynamics(pybind11::module_& m);   // kernel_dynamics.cpp
void bind_mlp(pybind11::module_& m);               // mlp.cpp
void bind_predict(pybind11::module_& m);           // predict.cpp
void bind_io(pybind11::module_& m);                // io.cpp

// Shared by the deep-network files (analytic_kernels.cpp):
/// arch: a Network or its text; TypeError otherwise.
Network as_network(const pybind11::handle& arch);
/// get: "ntk", "nngp" or a sequence of them; ValueError otherwise.
std::vector<std::string> requested_kernels(const pybind11::handle& get);

/// A progress callback that lets Ctrl-C stop a long library call made with the GIL released.
/// Python only runs its signal handlers when the interpreter gets control, so without this a
/// KeyboardInterrupt arrived only after the call ended (152 s into a kernel). The library calls
/// progress callbacks from the calling thread (also inside its OpenMP loops, as thread 0); every
/// 0.1 s this takes the GIL there and runs the handlers, and if one raised, throws that as
/// error_already_set: the library stops its work (the engines catch it inside parallel regions
/// and rethrow after them), and the exception reaches Python as the KeyboardInterrupt it is.
inline std::function<void(double)> python_interrupt_check() {
  using Clock = std::chrono::steady_clock;
  auto last = std::make_shared<Clock::time_point>(Clock::now());
  return [last](double) {
    const Clock::time_point now = Clock::now();
    if (now - *last < std::chrono::milliseconds(100)) return;
    *last = now;
    pybind11::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) throw pybind11::error_already_set();
  };
}

/// The kernels `names` asked for, from a struct with members nngp and ntk: one array when
/// get was a single name, else a tuple in the order asked.
template <class Kernels>
pybind11::object select_kernels(Kernels&& k, const std::vector<std::string>& names, bool single) {
  if (single) return to_numpy(std::move(names[0] == "ntk" ? k.ntk : k.nngp));
  pybind11::tuple out(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    auto& matrix = names[i] == "ntk" ? k.ntk : k.nngp;
    // Moved into NumPy at its last mention (no copy of an n x n result: at n = 4096 a copy
    // costs about as much as a layer of the recursion); copied only where a name repeats.
    const bool repeated = std::find(names.begin() + static_cast<std::ptrdiff_t>(i) + 1, names.end(), names[i]) != names.end();
    out[i] = repeated ? to_numpy(std::decay_t<decltype(matrix)>(matrix)) : to_numpy(std::move(matrix));
  }
  return out;
}

}  // namespace ntkit::python
