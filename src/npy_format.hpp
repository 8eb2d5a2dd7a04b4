// Pieces of the .npy format shared inside the library (private).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "ntkit/io.hpp"

namespace ntkit::detail {

/// The bytes before the data of a C-order (rows, cols) float32/float64 .npy file, exactly as
/// numpy.save writes them; their length is a multiple of 64, so the data that follows is
/// aligned for memory mapping.
std::string npy_matrix_preamble(DType dtype, std::size_t rows, std::size_t cols);
/// The same for a C-order array of any shape (an empty shape: 0-d).
std::string npy_preamble(DType dtype, const std::vector<std::size_t>& shape);

}  // namespace ntkit::detail
