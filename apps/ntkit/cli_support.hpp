// Shared plumbing of the command-line tool: reading inputs, checking and writing outputs.
//
// Outputs: a command that writes more than one file stages them all in an ntkit::OutputSet
// (io.hpp) and commits it once everything is computed, so its files appear together or not at
// all; options are checked before any work, and output directories are created only by the
// commit. main() makes SIGINT/SIGTERM/SIGHUP remove the temporary files (exit status 128 + signal).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "ntkit/io.hpp"
#include "ntkit/kernels.hpp"
#include "ntkit/types.hpp"

namespace ntkit::cli {

/// Reads examples (ntkit::read_examples): .npy of rank 1 to 4 ((n, d), (N, L, C) signals,
/// (N, H, W, C) images), IDX files (MNIST's format; unsigned-byte images scaled to [0, 1]),
/// text; gzip-compressed or not; a range of rows "PATH[:N]", "PATH[A:B]"; the shorthand
/// "fashion-mnist:train[:N]" and its kin. Finite and non-empty.
Examples load_examples(const std::string& source);

/// Reads a data matrix (n, d) from the same sources as load_examples; images and signals are
/// an error naming the commands that take them.
RowMatrixD load_matrix(const std::string& source);

/// Under mpirun, the default block of the block-cyclic layout: 64 x 64 entries. ScaLAPACK's
/// routines run near their best from 64 up; and K(X, X) computes only the blocks on and above
/// the diagonal, whose count grows with the block column, so its balance over the ranks is
/// within about P·block/n of even: smaller blocks balance better.
constexpr int kDefaultBlockSize = 64;

/// The help text about input files, for the commands that read examples.
extern const char* const kInputsHelp;

/// Fails early (before any computation) if `path` cannot be an output: an unsupported
/// extension, a directory that does not exist, or a directory in the file's place.
void check_output_path(const std::string& path);

/// Fails early if the output directory `dir` (given by `option`, e.g. "--out") exists and is
/// not a directory. The directory itself is created only when the outputs are committed
/// (OutputSet::create_directory), so a failed run leaves none behind.
void check_output_directory(const std::string& dir, const std::string& option);

/// "K.npy" → "K.nngp.npy": the file names of `--get both` (kernel, empirical).
std::string with_suffix(const std::string& path, const std::string& suffix);

/// Adds a float64 matrix to a command's outputs as --dtype asks (float32 is rounded from it).
void add_as(OutputSet& outputs, const std::string& path, const RowMatrixD& matrix, DType dtype);

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
