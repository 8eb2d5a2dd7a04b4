#include "cli_support.hpp"

#include <charconv>
#include <filesystem>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "ntkit/error.hpp"
#include "option_checks.hpp"

namespace ntkit::cli {

Examples load_examples(const std::string& source) { return read_examples(source); }

RowMatrixD load_matrix(const std::string& source) {
  Examples examples = read_examples(source);
  if (examples.shape.size() > 1)
    throw Error(
        parse_data_source(source).path + ": holds images or signals (examples of shape " + shape_to_string(examples.shape) +
        "), but this input is a 2-D matrix (n, d); reshape to 2-D (n, d), e.g. np.save(path, x.reshape(len(x), -1)); "
        "ntkit kernel, predict, classify, regress, empirical and train read images (N, H, W, C) and signals (N, L, C) as "
        "they are");
  return std::move(examples.x);
}

const char* const kInputsHelp =
    R"(Inputs (one example per row; the format is read from the content, gzip-compressed or not):
  .npy     (n, d) rows of features; (n,) one feature; (N, L, C) 1-D signals; (N, H, W, C) images
           (channels last, as neural-tangents). --arch networks with Conv/AvgPool/GlobalAvgPool/
           Flatten layers see that shape; Dense layers and the classic kernels see each example
           flattened in C order.
  IDX      MNIST's format (*-idx3-ubyte, *-idx1-ubyte, .gz or not): images (N, H, W) are read as
           (N, H, W, 1) with pixels 0..255 divided by 255, into [0, 1]; no other scaling.
  text     CSV or whitespace-separated numbers, optional header line.
  FILE[:N] the first N rows (examples) of FILE; FILE[A:B] rows A..B-1; FILE[A:] from row A on.
  fashion-mnist:train, fashion-mnist:test          Fashion-MNIST's 60000 / 10000 images, and
  fashion-mnist:train-labels, fashion-mnist:test-labels their labels (Debian's package
           dataset-fashion-mnist, /usr/share/datasets/fashion-mnist; NTKIT_DATASETS=DIR replaces
           /usr/share/datasets); with rows: fashion-mnist:train[:1000].
)";

void check_output_path(const std::string& path) {
  const std::filesystem::path p(path);
  const std::string ext = p.extension().string();
  if (ext != ".npy" && ext != ".csv" && ext != ".txt") {
    throw Error(path + ": unsupported output extension '" + ext + "'; use .npy (binary, exact) or .csv / .txt (text)");
  }
  const std::filesystem::path dir = p.has_parent_path() ? p.parent_path() : ".";
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw Error(path + ": output directory '" + dir.string() + "' does not exist; create it first");
  }
  if (std::filesystem::is_directory(p, ec)) throw Error(path + ": is a directory; the output is a file, give a file name");
}

void check_output_directory(const std::string& dir, const std::string& option) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec) && !std::filesystem::is_directory(dir, ec))
    throw Error(option + ": '" + dir + "' exists and is not a directory");
}

DType parse_float_dtype(const std::string& name) {
  if (name == "float64") return DType::Float64;
  if (name == "float32") return DType::Float32;
  throw Error("--dtype: unknown value '" + name + "'; choose float64 or float32");
}

void add_kernel_options(CLI::App& command, KernelOptions& options) {
  command.add_option("--kernel", options.kernel, "linear | polynomial | rbf | arccos")->capture_default_str();
  command.add_option("--degree", options.degree, "polynomial degree p in (c + x·y)^p")->capture_default_str();
  command.add_option("--c", options.c, "polynomial offset c in (c + x·y)^p")->capture_default_str();
  command.add_option("--gamma", options.gamma, "RBF width γ in exp(-γ‖x - y‖²) (default 1/d, d = number of features)");
  command.add_option("--order", options.order, "arc-cosine kernel order n: 0, 1 or 2")->capture_default_str();
}

KernelSpec make_kernel_spec(const KernelOptions& options, Eigen::Index input_dim) {
  KernelSpec spec;
  spec.kind = parse_kernel_kind(options.kernel);
  spec.degree = options.degree;
  spec.c = options.c;
  spec.gamma = options.gamma ? *options.gamma : 1.0 / static_cast<double>(std::max<Eigen::Index>(input_dim, 1));
  spec.order = options.order;
  spec.validate();
  return spec;
}

std::string with_suffix(const std::string& path, const std::string& suffix) {
  const std::filesystem::path p(path);
  return (p.parent_path() / (p.stem().string() + "." + suffix + p.extension().string())).string();
}

void add_as(OutputSet& outputs, const std::string& path, const RowMatrixD& matrix, DType dtype) {
  if (dtype == DType::Float64) {
    outputs.add_matrix(path, matrix);
  } else {
    const RowMatrixF narrowed = matrix.cast<float>();
    outputs.add_matrix(path, narrowed);
  }
}

std::vector<double> parse_times(const std::string& text) {
  std::vector<double> times;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    double t = 0;
    if (item == "inf" || item == "infinity") {
      t = std::numeric_limits<double>::infinity();
    } else {
      // The same rule as every numeric option (std::stod took "0x10" as sixteen, "1e400" as an
      // error of its own); below the smallest double a time is 0.
      const std::string problem = strict_number_problem(item, "FLOAT");
      if (!problem.empty()) throw Error("--time: " + problem + "; give e.g. 0,1,10,inf");
      std::from_chars(item.data(), item.data() + item.size(), t);
    }
    if (!(t >= 0)) throw Error("--time: times must be >= 0 (or inf), got " + item);
    times.push_back(t);
  }
  if (times.empty()) throw Error("--time: give at least one time, e.g. 0,1,10,inf");
  return times;
}

}  // namespace ntkit::cli
