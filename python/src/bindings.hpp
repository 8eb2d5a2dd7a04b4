// The parts of the module ntkit._core, one concept per file (module.cpp puts them together).
#pragma once

#include <pybind11/pybind11.h>

#include <algorithm>
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

// Shared by the deep-network files (analytic_kernels.cpp):
/// arch: a Network or its text; TypeError otherwise.
Network as_network(const pybind11::handle& arch);
/// get: "ntk", "nngp" or a sequence of them; ValueError otherwise.
std::vector<std::string> requested_kernels(const pybind11::handle& get);

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
