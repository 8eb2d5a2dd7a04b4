// Examples for kernels and networks from files: flat matrices, 1-D signals and images, from
// .npy, IDX (MNIST's format) or text, gzip-compressed or not, whole or a range of rows; and the
// sources that name them (io.hpp: DataSource).
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "ntkit/error.hpp"
#include "ntkit/idx.hpp"
#include "ntkit/io.hpp"

namespace ntkit {
namespace {

[[noreturn]] void fail(const std::string& name, const std::string& problem) { throw Error(name + ": " + problem); }

bool is_file(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && !S_ISDIR(info.st_mode);
}

std::string shape_text(const std::vector<std::size_t>& shape) {
  std::string out = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i > 0 ? ", " : "") + std::to_string(shape[i]);
  return out + (shape.size() == 1 ? ",)" : ")");
}

// "123" → 123; anything else (signs, spaces, other characters, overflow) → nullopt.
std::optional<std::size_t> row_number(std::string_view text) {
  std::size_t v = 0;
  if (text.empty()) return std::nullopt;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return v;
}

// Parses the "[A:B]" at the end of `text` into `source` (text = everything before it).
void parse_range(const std::string& text, std::size_t open, DataSource& source) {
  const std::string_view inside = std::string_view(text).substr(open + 1, text.size() - open - 2);
  const std::size_t colon = inside.find(':');
  const std::string fix = "; write PATH[:N] for the first N rows, PATH[A:B] for rows A to B-1, PATH[A:] from row A on";
  if (colon == std::string_view::npos || inside.find(':', colon + 1) != std::string_view::npos)
    fail(text, "cannot read the row range [" + std::string(inside) + "]" + fix);
  const std::string_view a = inside.substr(0, colon), b = inside.substr(colon + 1);
  if (!a.empty()) {
    const auto v = row_number(a);
    if (!v)
      fail(text,
           "row range [" + std::string(inside) + "]: '" + std::string(a) + "' is not a row number (0, 1, 2, ...)" + fix);
    source.begin = *v;
  }
  if (!b.empty()) {
    const auto v = row_number(b);
    if (!v)
      fail(text,
           "row range [" + std::string(inside) + "]: '" + std::string(b) + "' is not a row number (0, 1, 2, ...)" + fix);
    source.end = *v;
  }
  if (source.end && *source.end <= source.begin)
    fail(text, "row range [" + std::string(inside) + "] holds no rows; give B > A in [A:B]");
  source.sliced = true;
}

std::string datasets_root() {
  const char* env = std::getenv("NTKIT_DATASETS");
  return env != nullptr && *env != '\0' ? std::string(env) : std::string("/usr/share/datasets");
}

// Checks a range against the rows there are.
void check_range(const DataSource& source, std::size_t rows) {
  const std::size_t end = source.end.value_or(rows);
  if (end > rows || source.begin >= rows)
    fail(source.text, "asks for rows " + std::to_string(source.begin) + ":" + std::to_string(end) + " but " + source.path +
                          " has " + std::to_string(rows) + " (0:" + std::to_string(rows) + ")");
}

// rows x per_row values (C order), the rows of `source` kept.
void keep_rows(std::vector<double>& values, std::size_t& rows, std::size_t per_row, const DataSource& source) {
  if (!source.sliced) return;
  check_range(source, rows);
  const std::size_t end = source.end.value_or(rows);
  values.erase(values.begin() + static_cast<std::ptrdiff_t>(end * per_row), values.end());
  values.erase(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(source.begin * per_row));
  rows = end - source.begin;
}

// shape = (n, rest...) → the per-example shape, as ints; rank errors name the fix.
std::vector<int> example_shape(const std::vector<std::size_t>& shape, bool idx, const std::string& name) {
  if (shape.empty())
    fail(name,
         "the array is 0-D (a single number), not a data matrix; reshape to 2-D (n, d), "
         "e.g. np.save(path, np.reshape(x, (1, 1)))");
  if (shape.size() > 4)
    fail(name, "the array has " + std::to_string(shape.size()) + " dimensions, shape " + shape_text(shape) +
                   "; examples are 2-D (n, d), 3-D (N, L, C: signals) or 4-D (N, H, W, C: images, channels last)");
  std::vector<int> out;
  for (std::size_t i = 1; i < shape.size(); ++i) {
    if (shape[i] > static_cast<std::size_t>(INT_MAX)) fail(name, "shape " + shape_text(shape) + " has an axis too long");
    out.push_back(static_cast<int>(shape[i]));
  }
  if (out.empty()) out.push_back(1);               // a vector: n examples of one feature
  if (idx && shape.size() == 3) out.push_back(1);  // IDX images (N, H, W): one channel
  return out;
}

std::string position(const std::vector<int>& shape, std::size_t flat) {
  std::vector<std::size_t> index(shape.size());
  for (std::size_t a = shape.size(); a-- > 0;) {
    index[a] = flat % static_cast<std::size_t>(shape[a]);
    flat /= static_cast<std::size_t>(shape[a]);
  }
  return shape_text(index);
}

}  // namespace

std::string shape_to_string(const std::vector<int>& shape) {
  std::vector<std::size_t> s(shape.begin(), shape.end());
  return shape_text(s);
}

DataSource parse_data_source(const std::string& text) {
  DataSource source;
  source.text = text;
  source.path = text;
  if (text.empty()) fail("(empty file name)", "give a file name");
  if (is_file(text)) return source;  // a file of this very name
  std::string base = text;
  if (text.back() == ']') {
    const std::size_t open = text.rfind('[');
    if (open != std::string::npos && open > 0) {
      parse_range(text, open, source);
      base = text.substr(0, open);
    }
  }
  const std::string prefix = "fashion-mnist:";
  if (base.rfind(prefix, 0) == 0 && !is_file(base)) {
    const std::string name = base.substr(prefix.size());
    const char* file = nullptr;
    if (name == "train") file = "train-images-idx3-ubyte.gz";
    if (name == "test") file = "t10k-images-idx3-ubyte.gz";
    if (name == "train-labels") file = "train-labels-idx1-ubyte.gz";
    if (name == "test-labels") file = "t10k-labels-idx1-ubyte.gz";
    if (file == nullptr)
      fail(text,
           "unknown part '" + name +
               "' of fashion-mnist; give fashion-mnist:train, fashion-mnist:test (images), "
               "fashion-mnist:train-labels or fashion-mnist:test-labels, optionally with rows: fashion-mnist:train[:1000]");
    source.dataset = "fashion-mnist";
    source.labels = name.find("-labels") != std::string::npos;
    source.split = name.substr(0, name.find('-'));
    source.path = datasets_root() + "/fashion-mnist/" + file;
    if (!is_file(source.path))
      fail(text, source.path +
                     " does not exist; install Debian's package dataset-fashion-mnist (apt-get install "
                     "dataset-fashion-mnist; `make deps` does), or point NTKIT_DATASETS at a folder holding fashion-mnist/");
    return source;
  }
  source.path = base;
  return source;
}

std::string labels_source_for(const DataSource& source) {
  if (source.dataset.empty() || source.labels) return "";
  std::string out = source.dataset;
  out += ':';
  out += source.split;
  out += "-labels";
  if (source.sliced) {
    out += '[';
    out += std::to_string(source.begin);
    out += ':';
    if (source.end) out += std::to_string(*source.end);
    out += ']';
  }
  return out;
}

std::string read_data_file(const std::string& path) {
  std::string bytes = read_file(path);
  if (is_gzip(bytes)) bytes = gunzip(bytes, path);
  return bytes;
}

IdxArray read_idx(const std::string& path, const RowRange& rows) { return parse_idx(read_data_file(path), path, rows); }

Examples read_examples(const std::string& text, const ReadOptions& options) {
  const DataSource source = parse_data_source(text);
  const std::string& name = source.path;
  const std::string bytes = read_data_file(name);
  Examples out;
  std::vector<std::size_t> shape;
  std::vector<double> values;
  const bool npy = !bytes.empty() && static_cast<unsigned char>(bytes.front()) == 0x93;
  const bool idx = bytes.size() >= 2 && bytes[0] == 0 && bytes[1] == 0;
  if (npy || idx) {
    if (npy) {
      NpyArray array = parse_npy(bytes, name);
      shape = std::move(array.shape);
      values = std::move(array.values);
      out.shape = example_shape(shape, false, name);
    } else {
      // Only the rows asked for are converted (the whole file is checked).
      IdxArray array = parse_idx(bytes, name, RowRange{source.begin, source.end});
      shape = std::move(array.shape);
      values = std::move(array.values);
      out.shape = example_shape(shape, true, name);
      if (array.type == IdxType::UInt8 && shape.size() >= 3)
        for (double& v : values) v /= 255.0;
    }
    std::size_t rows = shape[0];
    std::size_t per_row = 1;
    for (const int s : out.shape) per_row *= static_cast<std::size_t>(s);
    if (npy && rows > 0 && per_row > 0) keep_rows(values, rows, per_row, source);
    if (rows == 0 || per_row == 0) {
      if (!options.allow_empty) {
        if (shape.size() <= 2)
          fail(name, "the matrix is empty (" + std::to_string(rows) + " rows, " + std::to_string(per_row) +
                         " columns); expected at least one row and one column of numbers");
        fail(name, "no data: shape " + shape_text(shape) + (rows == 0 ? " has no examples" : " has examples of no values") +
                       "; expected at least one example with at least one value");
      }
    }
    out.x.resize(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(per_row));
    if (!values.empty()) out.x = Eigen::Map<const RowMatrixD>(values.data(), out.x.rows(), out.x.cols());
  } else {
    if (bytes.find('\0') != std::string::npos)
      fail(name,
           "binary content that is neither a .npy file (magic string \\x93NUMPY) nor an IDX file (two zero bytes); "
           "expected .npy, IDX (MNIST's format, gzip-compressed or not) or CSV / whitespace-separated text");
    out.x = parse_text_matrix(bytes, name);
    if (source.sliced && out.x.rows() > 0) {
      check_range(source, static_cast<std::size_t>(out.x.rows()));
      const auto end = static_cast<Eigen::Index>(source.end.value_or(static_cast<std::size_t>(out.x.rows())));
      const auto begin = static_cast<Eigen::Index>(source.begin);
      out.x = RowMatrixD(out.x.middleRows(begin, end - begin));
    }
    if ((out.x.rows() == 0 || out.x.cols() == 0) && !options.allow_empty)
      fail(name, "the matrix is empty (" + std::to_string(out.x.rows()) + " rows, " + std::to_string(out.x.cols()) +
                     " columns); expected at least one row and one column of numbers");
    out.shape = {static_cast<int>(out.x.cols())};
  }
  if (options.require_finite) {
    if (out.shape.size() == 1) {
      require_finite(out.x, name);
    } else {
      const double* p = out.x.data();
      for (std::size_t i = 0; i < static_cast<std::size_t>(out.x.size()); ++i) {
        if (std::isfinite(p[i])) continue;
        const auto d = static_cast<std::size_t>(out.x.cols());
        const char* kind = std::isnan(p[i]) ? "NaN" : (p[i] > 0 ? "Inf" : "-Inf");
        fail(name, std::string(kind) + " in example " + std::to_string(i / d + source.begin) + " at position " +
                       position(out.shape, i % d) + " (0-based, of shape " + shape_to_string(out.shape) +
                       "); remove or impute missing and infinite values first");
      }
    }
  }
  return out;
}

void require_same_example_shape(const Examples& a, const std::string& what_a, const Examples& b, const std::string& what_b) {
  if (a.shape == b.shape) return;
  if (a.shape.size() == 1 && b.shape.size() == 1)
    throw Error(what_b + ": has " + std::to_string(b.x.cols()) + " columns but " + what_a + " has " +
                std::to_string(a.x.cols()) + "; both need the same number of features");
  std::string hint;
  if (a.x.cols() == b.x.cols())
    hint = " (the same number of values arranged differently: check the axis order, images are (N, H, W, C))";
  throw Error(what_b + ": examples of shape " + shape_to_string(b.shape) + " but " + what_a + " has examples of shape " +
              shape_to_string(a.shape) + "; both need the same shape" + hint);
}

}  // namespace ntkit
