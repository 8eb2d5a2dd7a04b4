// Matrix and vector types used throughout ntkit.
//
// Data sets are row-major n x d matrices, one example per row, so that NumPy arrays (C order)
// map onto them without a copy.
#pragma once

#include "ntkit/eigen.hpp"

namespace ntkit {

template <class T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;

using RowMatrixD = RowMatrix<double>;
using RowMatrixF = RowMatrix<float>;
using VectorD = Vector<double>;

/// Read-only view of a row-major matrix (NumPy C-order arrays pass without a copy).
template <class T>
using MatrixView = Eigen::Ref<const RowMatrix<T>>;

}  // namespace ntkit
