// Pieces of the .npy format shared inside the library (private).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "ntkit/io.hpp"

namespace ntkit::detail {

/// The bytes before the data of a C-order (rows, cols) float32/float64 .npy file, exactly as
/// numpy.save writes them; their length is a multiple of 64, so the data that follows is
/// aligned for memory mapping.
std::string npy_matrix_preamble(DType dtype, std::size_t rows, std::size_t cols);
/// The same for a C-order array of any shape (an empty shape: 0-d).
std::string npy_preamble(DType dtype, const std::vector<std::size_t>& shape);
/// The same for a C-order array of any dtype string numpy understands (e.g. "|u1", "<i2").
std::string npy_preamble_for_descr(const std::string& descr, const std::vector<std::size_t>& shape);

/// A .npy file's header, checked (magic, version, the dict's keys), and the bytes after it;
/// the dtype and the data's size are the caller's to check. For readers of dtypes other than
/// parse_npy's (class labels: any integer, bool).
struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<std::size_t> shape;
  std::string_view data;
};
NpyHeader parse_npy_header(std::string_view bytes, const std::string& name);

}  // namespace ntkit::detail
