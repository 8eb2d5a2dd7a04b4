// The parts of the module ntkit._core, one concept per file (module.cpp puts them together).
#pragma once

#include <pybind11/pybind11.h>

namespace ntkit::python {

void bind_classic_kernels(pybind11::module_& m);   // classic_kernels.cpp
void bind_analytic_kernels(pybind11::module_& m);  // analytic_kernels.cpp
void bind_feature_models(pybind11::module_& m);    // feature_models.cpp
void bind_kernel_ridge(pybind11::module_& m);      // kernel_ridge.cpp
void bind_two_layer(pybind11::module_& m);         // two_layer.cpp
void bind_kernel_dynamics(pybind11::module_& m);   // kernel_dynamics.cpp

}  // namespace ntkit::python
