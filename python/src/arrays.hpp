// How NumPy arrays reach the library and come back.
//
// An input that is already a C-contiguous array of the computation's dtype is viewed in place
// (Eigen::Map over NumPy's buffer, no copy); anything else (Fortran order, strided views,
// integers, lists) goes through one converting copy by NumPy. A 1-D input is a column
// (n examples of one feature, or n targets), as in the command-line tool. Results are Eigen
// matrices moved into NumPy arrays, again without a copy.
#pragma once

#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>  // everywhere alike: std::vector/optional conversions must agree across files

#include <string>
#include <utility>
#include <vector>

#include "ntkit/types.hpp"

namespace ntkit::python {

namespace py = pybind11;

template <class T>
using ContiguousArray = py::array_t<T, py::array::c_style | py::array::forcecast>;

/// A read-only row-major view of a NumPy input; `array` keeps its buffer alive.
template <class T>
struct MatrixArg {
  ContiguousArray<T> array;
  Eigen::Map<const RowMatrix<T>> view;
  bool is_vector;  // the input was 1-D
};

/// `object` as an n x d matrix of T. Throws ValueError (naming `name`) for complex data or
/// anything that is not 1-D or 2-D; NumPy's own error if it cannot convert at all.
template <class T>
MatrixArg<T> matrix_arg(const py::handle& object, const char* name) {
  if (py::isinstance<py::array>(object) && py::reinterpret_borrow<py::array>(object).dtype().kind() == 'c') {
    // forcecast would silently drop the imaginary part.
    throw py::value_error(std::string(name) + ": complex data is not supported; pass real numbers");
  }
  ContiguousArray<T> array(py::reinterpret_borrow<py::object>(object));
  if (array.ndim() != 1 && array.ndim() != 2) {
    throw py::value_error(std::string(name) + ": expected a 1-D or 2-D array (rows are examples), got " +
                          std::to_string(array.ndim()) + "-D");
  }
  const Eigen::Index rows = array.shape(0);
  const Eigen::Index cols = array.ndim() == 2 ? array.shape(1) : 1;
  Eigen::Map<const RowMatrix<T>> view(array.data(), rows, cols);
  const bool is_vector = array.ndim() == 1;
  return {std::move(array), view, is_vector};
}

/// Examples of any shape: (n,) or (n, d) rows of features, (N, L, C) signals, (N, H, W, C)
/// images (channels last). `view` is n x (product of the rest), each row one example in C order
/// (no copy for a C-contiguous array of T); `shape` is one example's shape for
/// AnalyticOptions::input_shape, empty for 1-D and 2-D inputs.
template <class T>
struct ExamplesArg {
  ContiguousArray<T> array;
  Eigen::Map<const RowMatrix<T>> view;
  std::vector<int> shape;
};

template <class T>
ExamplesArg<T> examples_arg(const py::handle& object, const char* name) {
  if (py::isinstance<py::array>(object) && py::reinterpret_borrow<py::array>(object).dtype().kind() == 'c')
    throw py::value_error(std::string(name) + ": complex data is not supported; pass real numbers");
  ContiguousArray<T> array(py::reinterpret_borrow<py::object>(object));
  const py::ssize_t ndim = array.ndim();
  if (ndim < 1 || ndim > 4)
    throw py::value_error(std::string(name) + ": expected examples as a 2-D array (n, d), 3-D (N, L, C: signals) or 4-D " +
                          "(N, H, W, C: images, channels last), got " + std::to_string(ndim) + "-D");
  std::vector<int> shape;
  Eigen::Index cols = 1;
  for (py::ssize_t a = 1; a < ndim; ++a) {
    cols *= static_cast<Eigen::Index>(array.shape(a));
    if (ndim > 2) shape.push_back(static_cast<int>(array.shape(a)));
  }
  Eigen::Map<const RowMatrix<T>> view(array.data(), static_cast<Eigen::Index>(array.shape(0)), cols);
  return {std::move(array), view, std::move(shape)};
}

/// "(28, 28, 1)", or "(d,)" (flat) for an empty shape.
inline std::string example_shape_text(const std::vector<int>& shape, Eigen::Index cols) {
  if (shape.empty()) return "(" + std::to_string(cols) + ",)";
  std::string out = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i > 0 ? ", " : "") + std::to_string(shape[i]);
  return out + ")";
}

/// ValueError unless x2's examples have x1's shape (images against images of the same size).
template <class T>
void require_same_shape(const ExamplesArg<T>& a, const ExamplesArg<T>& b) {
  if (a.shape == b.shape) return;
  throw py::value_error("x2: examples of shape " + example_shape_text(b.shape, b.view.cols()) + " but x1 has " +
                        example_shape_text(a.shape, a.view.cols()) + "; both need the same shape per example");
}

/// True when every given input is a float32 NumPy array: then classic kernels compute in
/// float32; any other mix computes in float64 (NumPy's promotion rule).
inline bool all_float32(std::initializer_list<py::handle> objects) {
  for (const py::handle& object : objects) {
    if (object.is_none()) continue;
    if (!py::isinstance<py::array>(object) || !py::reinterpret_borrow<py::array>(object).dtype().is(py::dtype::of<float>()))
      return false;
  }
  return true;
}

/// A result matrix as a NumPy array (moved, not copied); a single column becomes 1-D when
/// `as_vector` (the targets came in 1-D).
template <class T>
py::array to_numpy(RowMatrix<T>&& result, bool as_vector = false) {
  const bool flatten = as_vector && result.cols() == 1;
  const Eigen::Index rows = result.rows();
  auto array = py::cast(std::move(result)).template cast<py::array>();
  if (flatten) return array.attr("reshape")(rows).template cast<py::array>();
  return array;
}

/// Empty matrix (the C++ API's "not given") for None, else a copy of the input as a matrix.
inline RowMatrixD optional_matrix(const py::object& object, const char* name) {
  if (object.is_none()) return {};
  return RowMatrixD(matrix_arg<double>(object, name).view);
}

/// `object` as a vector of length n (1-D, or an n x 1 column). Copies: the C++ API takes VectorD.
inline VectorD vector_arg(const py::handle& object, const char* name) {
  const MatrixArg<double> a = matrix_arg<double>(object, name);
  if (a.view.cols() != 1) {
    throw py::value_error(std::string(name) + ": expected a 1-D array of length n, got shape (" +
                          std::to_string(a.view.rows()) + ", " + std::to_string(a.view.cols()) + ")");
  }
  return a.view.col(0);
}

/// A model of the library plus how its targets came in, so that 1-D targets give 1-D outputs.
template <class Model>
struct WithTargetShape {
  Model model;
  bool vector_targets;
};

}  // namespace ntkit::python
