// Shared plumbing of the command-line tool: reading inputs, checking and writing outputs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "ntkit/io.hpp"
#include "ntkit/kernels.hpp"
#include "ntkit/types.hpp"

namespace ntkit::cli {

/// Reads a data matrix (.npy or text) that must be finite and non-empty.
RowMatrixD load_matrix(const std::string& path);

/// Fails early (before any computation) if `path` cannot be an output: an unsupported
/// extension or a directory that does not exist.
void check_output_path(const std::string& path);

/// "K.npy" → "K.nngp.npy": the file names of `--get both` (kernel, empirical).
std::string with_suffix(const std::string& path, const std::string& suffix);

/// Writes a float64 matrix as --dtype asks (float32 is rounded from it).
void write_as(const std::string& path, const RowMatrixD& matrix, DType dtype);

/// Parses --time: comma-separated times ≥ 0, "inf" allowed (predict, two-layer predict).
std::vector<double> parse_times(const std::string& text);

/// Parses --dtype: "float64" or "float32".
DType parse_float_dtype(const std::string& name);

/// The kernel options shared by `kernel` and `ridge`.
struct KernelOptions {
  std::string kernel = "linear";
  int degree = 2;
  double c = 1.0;
  std::optional<double> gamma;  // unset: 1 / d
  int order = 1;
};
void add_kernel_options(CLI::App& command, KernelOptions& options);
KernelSpec make_kernel_spec(const KernelOptions& options, Eigen::Index input_dim);

}  // namespace ntkit::cli
