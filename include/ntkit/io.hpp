// Reading and writing data: NumPy .npy files and CSV / whitespace-separated text.
//
// .npy: format versions 1.0, 2.0 and 3.0; dtypes float32, float64, int32, int64, little-endian
// ('<' or '|' byte order); C and Fortran order. Whatever numpy.save writes for these dtypes is
// read, and NumPy reads every file written here.
// Text: one row per line, values separated by commas or by whitespace (not both mixed in one
// file), an optional header line of non-numeric names, '#' comment lines and blank lines skipped.
//
// Every problem throws ntkit::Error with a message that starts with the file name.
// Outputs are written atomically: to a temporary file in the same directory, then renamed over
// the destination, so a failed write never leaves a truncated file or destroys an old one.
// Several outputs that belong together go through an OutputSet: all of them appear, or none.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ntkit/types.hpp"

namespace ntkit {

enum class DType { Float32, Float64, Int32, Int64 };

/// "float32", "float64", "int32", "int64".
const char* dtype_name(DType dtype);

/// A decoded .npy array: values converted to double and laid out in C (row-major) order,
/// whatever the file's order.
struct NpyArray {
  std::vector<std::size_t> shape;
  DType dtype = DType::Float64;
  bool fortran_order = false;  // as stored in the file
  std::vector<double> values;  // product(shape) values, C order
};

/// Decodes the bytes of a .npy file. `name` is used in error messages (usually the path).
NpyArray parse_npy(std::string_view bytes, const std::string& name);

/// Encodes a row-major matrix as a version 1.0 .npy file (version 2.0 if the header needs it)
/// with dtype float64 or float32. `as_vector` writes shape (rows,) for a one-column matrix.
std::string encode_npy(const RowMatrixD& matrix, DType dtype, bool as_vector = false);
std::string encode_npy(const RowMatrixF& matrix, bool as_vector = false);
/// Encodes float64 values as a .npy array of any shape (version 1.0, or 2.0 if the header needs
/// it): product(shape) values from `values` in C order; an empty shape is a 0-d array of one value.
std::string encode_npy(const std::vector<std::size_t>& shape, const double* values);
/// The bytes of write_npy_stack's file (shape (count, rows, cols)); Error for none or unequal shapes.
std::string encode_npy_stack(const std::vector<RowMatrixD>& stack);

/// Parses CSV or whitespace-separated text into a matrix (see the file comment for the format).
RowMatrixD parse_text_matrix(std::string_view text, const std::string& name);

/// Formats a matrix as CSV with full round-trip precision (17 significant digits for float64).
std::string format_csv(const RowMatrixD& matrix);

struct ReadOptions {
  bool require_finite = true;  // NaN or Inf is an error naming the file, row and column
  bool allow_empty = false;    // a matrix with no rows or no columns is an error by default
};

/// Reads a .npy file or a text file into an n x d matrix; the format is chosen by the content
/// (the .npy magic string), so the extension does not matter. A 1-D array of length n becomes
/// n x 1; 0-D and more than 2-D arrays are errors (read_examples reads images).
RowMatrixD read_matrix(const std::string& path, const ReadOptions& options = {});

/// Where data comes from: a file, and optionally a range of its rows (examples) in Python's
/// slice syntax, or a data set installed by a Debian package.
///   "PATH"               every row;   "PATH[:N]": the first N;   "PATH[A:B]": rows A … B−1;
///   "PATH[A:]": from row A on (0-based). A file whose name is the whole text is read as it is.
///   "fashion-mnist:train", "fashion-mnist:test": the 60000 / 10000 images of Fashion-MNIST,
///   "fashion-mnist:train-labels", "fashion-mnist:test-labels": their labels, from Debian's
///   package dataset-fashion-mnist (/usr/share/datasets/fashion-mnist/*-idx?-ubyte.gz; the
///   environment variable NTKIT_DATASETS replaces /usr/share/datasets); a range may follow
///   ("fashion-mnist:train[:1000]").
struct DataSource {
  std::string text;  // as given (for messages)
  std::string path;  // the file
  std::size_t begin = 0;
  std::optional<std::size_t> end;  // unset: to the last row
  bool sliced = false;             // a range was given
  std::string dataset;             // "fashion-mnist" for the shorthand, else empty
  std::string split;               // with `dataset`: "train" or "test"
  bool labels = false;             // with `dataset`: the labels file
};

/// Parses a source text (see DataSource). Error for a malformed range or an unknown data set
/// name, and for a data set that is not installed (naming the package to install).
DataSource parse_data_source(const std::string& text);

/// For a data set's images ("fashion-mnist:train[:N]"): the source of their labels, the same
/// rows ("fashion-mnist:train-labels[:N]"); empty for anything else.
std::string labels_source_for(const DataSource& source);

/// The bytes of a file, gunzipped when they are gzip-compressed (by content: 1f 8b).
std::string read_data_file(const std::string& path);

/// Examples for kernels and networks: one per row of x, each a flattened array of `shape`.
struct Examples {
  RowMatrixD x;  // n x d, each row one example flattened in C order
  /// One example's shape without the batch axis: {d} for flat data (rows of a matrix), {L, C}
  /// for 1-D signals, {H, W, C} for images (NHWC). The product is d.
  std::vector<int> shape;
  /// The shape for AnalyticOptions::input_shape: empty for flat data, else `shape`.
  std::vector<int> input_shape() const { return shape.size() > 1 ? shape : std::vector<int>{}; }
};

/// "(28, 28, 1)": a per-example shape as text.
std::string shape_to_string(const std::vector<int>& shape);

/// Reads examples from a source (see DataSource), the format chosen by content, gzip-compressed
/// or not:
///   .npy   rank 1 (n,) → n x 1; rank 2 (n, d); rank 3 (N, L, C) signals; rank 4 (N, H, W, C)
///          images (NHWC, as neural-tangents); other ranks are errors naming the fix.
///   IDX    rank 1 and 2 as .npy; rank 3 (N, H, W) → images (N, H, W, 1); rank 4 (N, H, W, C).
///          Unsigned-byte images (MNIST, Fashion-MNIST: pixels 0 … 255) are divided by 255,
///          so pixels lie in [0, 1]; other IDX types and ranks are read as stored.
///   text   CSV or whitespace-separated, as read_matrix (flat).
/// Errors name the file: unreadable or malformed, no rows or an example with no values, NaN or
/// Inf (with the example and its position), a range outside the file's rows.
Examples read_examples(const std::string& source, const ReadOptions& options = {});

/// Error unless `b` has the per-example shape of `a` ("--x2 B.npy: examples of shape (28, 28, 1) but --x1 ...").
void require_same_example_shape(const Examples& a, const std::string& what_a, const Examples& b, const std::string& what_b);

/// Writes a matrix; the format follows the extension: ".npy" (dtype float64 or float32) or
/// ".csv"/".txt" (text; dtype ignored). Any other extension is an error. Atomic.
void write_matrix(const std::string& path, const RowMatrixD& matrix, DType dtype = DType::Float64, bool as_vector = false);
void write_matrix(const std::string& path, const RowMatrixF& matrix, bool as_vector = false);

/// Writes a float64 .npy array of any shape (see encode_npy), atomically.
void write_npy(const std::string& path, const std::vector<std::size_t>& shape, const double* values);
/// Writes equally shaped matrices as one float64 .npy array of shape (count, rows, cols), stack[i]
/// at index i (a trajectory: one matrix per time or per record); count >= 1. Atomic.
void write_npy_stack(const std::string& path, const std::vector<RowMatrixD>& stack);

/// Writes bytes to `path` atomically (temporary file in the same directory, fsync, rename).
void write_file_atomically(const std::string& path, std::string_view bytes);

/// Output files that appear together or not at all (e.g. every file of a command's run).
///
/// Each add_*() writes its file at once (and fsyncs it) to a hidden temporary file beside the
/// destination, ".NAME.tmp.XXXXXX"; no destination changes. commit() then checks every
/// destination (none may be a directory), creates the directories given to
/// create_directory(), and renames the temporary files into place one after another, in the
/// order they were added. A set destroyed without commit() (an error, an exception) removes its
/// temporary files and creates no directory, so every existing file is left as it was.
///
/// The final renames are not one atomic step across files: nothing is renamed until every file
/// is written, and termination signals (see remove_temporaries_on_signals) wait until the last
/// rename, but a crash or power loss during the renames, or a rename failing after the checks
/// passed (then the error names the files already replaced), can leave some files new and
/// others old.
class OutputSet {
 public:
  OutputSet();
  ~OutputSet();
  OutputSet(const OutputSet&) = delete;
  OutputSet& operator=(const OutputSet&) = delete;

  /// `directory` (and any missing parent) is created by commit(), not before; files can be
  /// added inside it already (their temporary files wait in its nearest existing ancestor).
  /// Error if it exists and is not a directory.
  void create_directory(const std::string& directory);

  /// The outputs: the same formats and errors as write_file_atomically, write_matrix, write_npy
  /// and write_npy_stack. The same path twice is an error.
  void add_file(const std::string& path, std::string_view bytes);
  void add_matrix(const std::string& path, const RowMatrixD& matrix, DType dtype = DType::Float64, bool as_vector = false);
  void add_matrix(const std::string& path, const RowMatrixF& matrix, bool as_vector = false);
  void add_npy(const std::string& path, const std::vector<std::size_t>& shape, const double* values);
  void add_npy_stack(const std::string& path, const std::vector<RowMatrixD>& stack);

  /// Puts every file in place (see above). Once only: after an error the set's temporary files
  /// are removed at once.
  void commit();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// For programs: SIGINT, SIGTERM and SIGHUP remove the temporary files of every write in progress
/// (write_file_atomically, write_matrix, OutputSet, write_analytic_kernels_npy), print one line
/// "PROGRAM: error: interrupted by SIGINT" on stderr and exit with status 128 + the signal number
/// (130 for SIGINT); during OutputSet::commit's renames they take effect after the last one.
/// SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT remove the temporary files and then end the
/// process as they would have. A signal that is ignored when this is called stays ignored.
/// The handlers are async-signal-safe; call this once, early in main().
void remove_temporaries_on_signals(const char* program_name);

/// Reads a whole file; a clear error if it cannot be opened or read.
std::string read_file(const std::string& path);

/// Throws ntkit::Error naming `what`, the row and the column of the first NaN or Inf.
void require_finite(const RowMatrixD& matrix, const std::string& what);

}  // namespace ntkit
