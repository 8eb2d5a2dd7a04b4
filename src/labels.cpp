#include "ntkit/labels.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <map>
#include <sstream>

#include "ntkit/error.hpp"
#include "ntkit/idx.hpp"
#include "ntkit/io.hpp"
#include "npy_format.hpp"
#include "text_table.hpp"

namespace ntkit {
namespace {

constexpr std::string_view kNpyMagic{"\x93NUMPY", 6};
// Integers beyond 2^53 have no exact double, and float labels are compared as doubles.
constexpr double kLargestExactInteger = 9007199254740992.0;

bool is_npy(const std::string& bytes) { return !bytes.empty() && bytes.front() == kNpyMagic.front(); }

// A .npy dtype that labels may have: kind 'b' (bool), 'i', 'u' or 'f' and its size in bytes,
// or 'U' (UTF-32 text of `size` characters, 4 bytes each) or 'S' (bytes) of fixed width.
struct LabelDtype {
  char kind;
  std::size_t size;
  std::size_t item_bytes() const { return kind == 'U' ? 4 * size : size; }
};

LabelDtype label_dtype(const std::string& descr, const std::string& path) {
  std::string_view code = descr;
  const char order = !code.empty() && std::strchr("<>|=", code.front()) ? code.front() : '=';
  if (std::strchr("<>|=", order) && !code.empty() && code.front() == order) code.remove_prefix(1);
  const std::string fix = "; save integer, boolean or string labels (y.astype(int) or y.astype(str))";
  if (!code.empty() && code.front() == 'O')
    throw Error(path + ": object labels (dtype '" + descr +
                "', pickled Python objects) are not read; save them as strings "
                "(numpy.save(path, y.astype(str))) or as integers");
  if (code.size() < 2) throw Error(path + ": unsupported label dtype '" + descr + "'" + fix);
  const char kind = code.front();
  std::size_t size = 0;
  std::from_chars(code.data() + 1, code.data() + code.size(), size);
  const bool known = (kind == 'b' && size == 1) ||
                     ((kind == 'i' || kind == 'u') && (size == 1 || size == 2 || size == 4 || size == 8)) ||
                     (kind == 'f' && (size == 4 || size == 8)) || ((kind == 'U' || kind == 'S') && size >= 1);
  if (!known) throw Error(path + ": unsupported label dtype '" + descr + "'" + fix);
  if (order == '>' && (size > 1 || kind == 'U'))
    throw Error(path + ": big-endian labels (dtype '" + descr + "'); convert with y.astype('<" + std::string(code) + "')");
  return {kind, size};
}

// The little-endian value at p as an integer label, or an error for a float that is not one.
std::int64_t decode_label(const char* p, LabelDtype t, std::size_t row, const std::string& path) {
  std::uint64_t bits = 0;
  for (std::size_t b = 0; b < t.size; ++b) bits |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[b])) << (8 * b);
  if (t.kind == 'b' || t.kind == 'u') {
    if (bits > static_cast<std::uint64_t>(INT64_MAX))
      throw Error(path + ": row " + std::to_string(row + 1) + " has label " + std::to_string(bits) + ", beyond 2^63 - 1");
    return static_cast<std::int64_t>(bits);
  }
  if (t.kind == 'i') {
    const unsigned shift = static_cast<unsigned>(64 - 8 * t.size);  // sign-extends the narrower types
    return static_cast<std::int64_t>(bits << shift) >> shift;
  }
  double v = 0;
  if (t.size == 4) {
    float f = 0;
    const auto b32 = static_cast<std::uint32_t>(bits);
    std::memcpy(&f, &b32, 4);
    v = f;
  } else {
    std::memcpy(&v, &bits, 8);
  }
  if (!(std::abs(v) < kLargestExactInteger) || v != std::round(v)) {
    std::ostringstream msg;
    msg << path << ": row " << row + 1 << " has label " << v
        << ", but class labels must be integers (0, 1, 2, ...), booleans or names; for real-valued targets use ntkit regress";
    throw Error(msg.str());
  }
  return static_cast<std::int64_t>(v);
}

// Labels from their integer values: classes sorted by value.
ClassLabels from_integers(const std::vector<std::int64_t>& raw, bool boolean) {
  ClassLabels out;
  out.values = raw;
  std::sort(out.values.begin(), out.values.end());
  out.values.erase(std::unique(out.values.begin(), out.values.end()), out.values.end());
  for (const std::int64_t v : out.values) out.classes.push_back(boolean ? (v != 0 ? "True" : "False") : std::to_string(v));
  out.index.reserve(raw.size());
  for (const std::int64_t v : raw)
    out.index.push_back(static_cast<int>(std::lower_bound(out.values.begin(), out.values.end(), v) - out.values.begin()));
  return out;
}

// UTF-32 code point → UTF-8 (numpy's 'U' strings are UTF-32).
void append_utf8(char32_t c, std::string& out) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

// UTF-8 → UTF-32 code points (the inverse of append_utf8 for the names it made).
std::u32string to_utf32(const std::string& s) {
  std::u32string out;
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const int extra = b < 0x80 ? 0 : b < 0xE0 ? 1 : b < 0xF0 ? 2 : 3;
    char32_t c = extra == 0 ? b : extra == 1 ? (b & 0x1F) : extra == 2 ? (b & 0x0F) : (b & 0x07);
    for (int k = 1; k <= extra && i + static_cast<std::size_t>(k) < s.size(); ++k)
      c = (c << 6) | (static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]) & 0x3F);
    out += c;
    i += static_cast<std::size_t>(extra) + 1;
  }
  return out;
}

// One fixed-width string label ('U' or 'S'), without numpy's trailing NUL padding.
std::string decode_text_label(const char* p, LabelDtype t) {
  std::string out;
  for (std::size_t k = 0; k < t.size; ++k) {
    char32_t c = 0;
    if (t.kind == 'U') {
      for (std::size_t b = 0; b < 4; ++b) c |= static_cast<char32_t>(static_cast<unsigned char>(p[4 * k + b])) << (8 * b);
    } else {
      c = static_cast<unsigned char>(p[k]);
    }
    if (c == 0) break;
    if (t.kind == 'U') {
      append_utf8(c, out);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

ClassLabels npy_labels(const std::string& bytes, const std::string& path) {
  const detail::NpyHeader header = detail::parse_npy_header(bytes, path);
  const bool column = header.shape.size() == 2 && header.shape[1] == 1;
  if (header.shape.size() != 1 && !column) {
    std::string shape;
    for (const std::size_t s : header.shape) shape += (shape.empty() ? "" : ", ") + std::to_string(s);
    throw Error(path + ": labels must be a vector (n,) or one column (n, 1), got shape (" + shape + ")");
  }
  const LabelDtype t = label_dtype(header.descr, path);
  const std::size_t n = header.shape[0];
  if (header.data.size() != n * t.item_bytes())
    throw Error(path + ": the header says " + std::to_string(n) + " labels of " + std::to_string(t.item_bytes()) +
                " bytes but " + std::to_string(header.data.size()) + " bytes follow");
  if (t.kind == 'U' || t.kind == 'S') {  // names: classes sorted as text
    std::vector<std::string> names(n);
    for (std::size_t i = 0; i < n; ++i) {
      names[i] = decode_text_label(header.data.data() + i * t.item_bytes(), t);
      if (names[i].empty()) throw Error(path + ": row " + std::to_string(i + 1) + ": empty label");
    }
    ClassLabels out;
    out.numeric = false;
    out.classes = names;
    std::sort(out.classes.begin(), out.classes.end());
    out.classes.erase(std::unique(out.classes.begin(), out.classes.end()), out.classes.end());
    for (const std::string& name : names)
      out.index.push_back(
          static_cast<int>(std::lower_bound(out.classes.begin(), out.classes.end(), name) - out.classes.begin()));
    out.npy_descr = header.descr;
    return out;
  }
  std::vector<std::int64_t> raw(n);
  for (std::size_t i = 0; i < n; ++i) raw[i] = decode_label(header.data.data() + i * t.size, t, i, path);
  ClassLabels out = from_integers(raw, t.kind == 'b');
  out.npy_descr = header.descr;
  if (out.npy_descr.size() > 1 && out.npy_descr.front() == '=') out.npy_descr.front() = t.size == 1 ? '|' : '<';
  return out;
}

// Labels in an IDX file (MNIST's labels: rank 1, unsigned bytes), whole; predictions are
// written as a .npy of the same type.
ClassLabels idx_labels(const std::string& bytes, const std::string& path) {
  const IdxArray array = parse_idx(bytes, path);
  const bool column = array.shape.size() == 2 && array.shape[1] == 1;
  if (array.shape.size() != 1 && !column) {
    std::string shape;
    for (const std::size_t d : array.shape) shape += (shape.empty() ? "" : ", ") + std::to_string(d);
    throw Error(path + ": labels must be an IDX vector (n,) (as MNIST's *-labels-idx1-ubyte), got shape (" + shape +
                "); is this a file of images?");
  }
  std::vector<std::int64_t> raw(array.values.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const double v = array.values[i];
    if (!(std::abs(v) < kLargestExactInteger) || v != std::round(v)) {
      std::ostringstream msg;
      msg << path << ": row " << i + 1 << " has label " << v
          << ", but class labels must be integers (0, 1, 2, ...); for real-valued targets use ntkit regress";
      throw Error(msg.str());
    }
    raw[i] = static_cast<std::int64_t>(v);
  }
  ClassLabels out = from_integers(raw, false);
  switch (array.type) {
    case IdxType::UInt8: out.npy_descr = "|u1"; break;
    case IdxType::Int8: out.npy_descr = "|i1"; break;
    case IdxType::Int16: out.npy_descr = "<i2"; break;
    case IdxType::Int32: out.npy_descr = "<i4"; break;
    case IdxType::Float32: out.npy_descr = "<f4"; break;
    case IdxType::Float64: out.npy_descr = "<f8"; break;
  }
  return out;
}

// The rows [begin, end) of `source` (a range of a file's rows): their labels, with the classes
// they use (still sorted, so class numbers stay in the same order).
ClassLabels keep_rows(ClassLabels labels, const DataSource& source) {
  const std::size_t n = labels.size();
  const std::size_t end = source.end.value_or(n);
  if (end > n || source.begin >= n)
    throw Error(source.text + ": asks for rows " + std::to_string(source.begin) + ":" + std::to_string(end) + " but " +
                source.path + " has " + std::to_string(n) + " labels (0:" + std::to_string(n) + ")");
  std::vector<int> index(labels.index.begin() + static_cast<std::ptrdiff_t>(source.begin),
                         labels.index.begin() + static_cast<std::ptrdiff_t>(end));
  std::vector<int> renumber(labels.classes.size(), -1);
  for (const int i : index) renumber[static_cast<std::size_t>(i)] = 0;
  ClassLabels out = labels;
  out.classes.clear();
  out.values.clear();
  for (std::size_t c = 0; c < renumber.size(); ++c) {
    if (renumber[c] < 0) continue;
    renumber[c] = static_cast<int>(out.classes.size());
    out.classes.push_back(labels.classes[c]);
    if (labels.numeric && c < labels.values.size()) out.values.push_back(labels.values[c]);
  }
  out.index.clear();
  for (const int i : index) out.index.push_back(renumber[static_cast<std::size_t>(i)]);
  return out;
}

std::string_view unquote(std::string_view s) {
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front()) s = s.substr(1, s.size() - 2);
  return s;
}

// Labels from text fields: all numbers (they must be integers; classes by value) or names.
ClassLabels text_labels(const detail::TextTable& table, std::size_t col, const std::string& path) {
  bool all_numbers = true;
  std::vector<double> numbers(table.rows);
  for (std::size_t r = 0; r < table.rows && all_numbers; ++r) {
    std::string_view f = unquote(table.cell(r, col));
    if (f.size() > 1 && f.front() == '+') f.remove_prefix(1);
    const auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), numbers[r]);
    all_numbers = !f.empty() && ec == std::errc() && end == f.data() + f.size() && std::isfinite(numbers[r]);
  }
  ClassLabels out;
  if (all_numbers) {
    std::vector<std::int64_t> raw(table.rows);
    for (std::size_t r = 0; r < table.rows; ++r) {
      if (!(std::abs(numbers[r]) < kLargestExactInteger) || numbers[r] != std::round(numbers[r]))
        throw Error(
            path + ": line " + std::to_string(table.lines[r]) + " has label '" + std::string(table.cell(r, col)) +
            "', but class labels must be integers (0, 1, 2, ...) or names; for real-valued targets use ntkit regress");
      raw[r] = static_cast<std::int64_t>(numbers[r]);
    }
    out = from_integers(raw, false);
  } else {
    out.numeric = false;
    std::map<std::string, int> ids;
    for (std::size_t r = 0; r < table.rows; ++r) {
      const std::string_view f = unquote(table.cell(r, col));
      if (f.empty()) throw Error(path + ": line " + std::to_string(table.lines[r]) + ": empty label");
      ids.emplace(std::string(f), 0);
    }
    for (auto& [name, id] : ids) {
      id = static_cast<int>(out.classes.size());
      out.classes.push_back(name);
    }
    for (std::size_t r = 0; r < table.rows; ++r) out.index.push_back(ids.at(std::string(unquote(table.cell(r, col)))));
  }
  if (!table.header.empty()) out.column_name = std::string(unquote(table.header[col]));
  return out;
}

void require_rows(std::size_t rows, const std::string& path) {
  if (rows == 0) throw Error(path + ": no rows; expected one label per point");
}

// A column given by name or by index (negative from the end) → its index.
std::size_t resolve_column(const std::string& column, const std::vector<std::string>& names, std::size_t cols,
                           const std::string& path, const std::string& option) {
  long long index = 0;
  const char* end = column.data() + column.size();
  const auto [ptr, ec] = std::from_chars(column.data(), end, index);
  if (!column.empty() && ec == std::errc() && ptr == end) {
    const long long c = static_cast<long long>(cols);
    if (index < -c || index >= c)
      throw Error(option + ": column " + column + " does not exist in " + path + ", which has " + std::to_string(cols) +
                  " columns; give 0 to " + std::to_string(cols - 1) + ", or -1 for the last");
    return static_cast<std::size_t>(index < 0 ? index + c : index);
  }
  if (names.empty())
    throw Error(option + ": " + path + " has no header line to find '" + column +
                "' in; give the column's number instead (0 first, -1 last)");
  const auto it = std::find(names.begin(), names.end(), column);
  if (it == names.end()) {
    std::string all;
    for (const std::string& n : names) all += (all.empty() ? "" : ", ") + n;
    throw Error(option + ": " + path + " has no column '" + column + "'; its columns are " + all);
  }
  return static_cast<std::size_t>(it - names.begin());
}

}  // namespace

std::vector<std::size_t> ClassLabels::class_counts() const {
  std::vector<std::size_t> counts(classes.size(), 0);
  for (const int i : index)
    if (i >= 0) ++counts[static_cast<std::size_t>(i)];
  return counts;
}

ClassLabels read_class_labels(const std::string& text) {
  const DataSource source = parse_data_source(text);
  const std::string& path = source.path;
  const std::string bytes = read_data_file(path);  // gunzipped
  ClassLabels labels;
  if (is_npy(bytes)) {
    labels = npy_labels(bytes, path);
  } else if (bytes.size() >= 2 && bytes[0] == 0 && bytes[1] == 0) {
    labels = idx_labels(bytes, path);
  } else {
    const detail::TextTable table = detail::parse_text_table(bytes, path);
    if (table.cols > 1)
      throw Error(path + ": has " + std::to_string(table.cols) +
                  " columns, but a label file has one label per line; for labels inside a data file use --label-column");
    require_rows(table.rows, path);
    labels = text_labels(table, 0, path);
  }
  require_rows(labels.size(), path);
  return source.sliced ? keep_rows(std::move(labels), source) : labels;
}

namespace {

LabeledData read_whole_labeled_data(const std::string& path, const std::string& column, const std::string& option,
                                    std::optional<Eigen::Index> feature_count) {
  const std::string bytes = read_file(path);
  LabeledData out;
  if (is_npy(bytes)) {
    const RowMatrixD all = read_matrix(path);
    const auto cols = static_cast<std::size_t>(all.cols());
    if (feature_count && all.cols() == *feature_count) {
      out.x = all;
      return out;
    }
    const std::size_t c = resolve_column(column, {}, cols, path, option);
    if (cols < 2) throw Error(option + ": " + path + " has one column; it needs features besides the labels");
    std::vector<std::int64_t> raw(static_cast<std::size_t>(all.rows()));
    const std::string descr = detail::parse_npy_header(bytes, path).descr;
    for (Eigen::Index i = 0; i < all.rows(); ++i) {
      const double v = all(i, static_cast<Eigen::Index>(c));
      if (!(std::abs(v) < kLargestExactInteger) || v != std::round(v)) {
        std::ostringstream msg;
        msg << path << ": row " << i + 1 << ", column " << c << " (the label column) has " << v
            << ", but class labels must be integers; check " << option;
        throw Error(msg.str());
      }
      raw[static_cast<std::size_t>(i)] = static_cast<std::int64_t>(v);
    }
    out.labels = from_integers(raw, false);
    out.labels->npy_descr = descr;
    out.x.resize(all.rows(), all.cols() - 1);
    out.x << all.leftCols(static_cast<Eigen::Index>(c)), all.rightCols(all.cols() - 1 - static_cast<Eigen::Index>(c));
    return out;
  }
  const detail::TextTable table = detail::parse_text_table(bytes, path);
  std::vector<std::string> names;
  for (const std::string_view h : table.header) names.emplace_back(unquote(h));
  const bool by_name = std::find(names.begin(), names.end(), column) != names.end();
  std::optional<std::size_t> label_col;
  if (feature_count && static_cast<Eigen::Index>(table.cols) == *feature_count && !by_name) {
    // A test file of features only.
  } else {
    label_col = resolve_column(column, names, table.cols, path, option);
    if (table.cols < 2) throw Error(option + ": " + path + " has one column; it needs features besides the labels");
    if (feature_count && static_cast<Eigen::Index>(table.cols) != *feature_count + 1)
      throw Error(path + ": has " + std::to_string(table.cols) + " columns; expected " + std::to_string(*feature_count) +
                  " features as in the training file, plus the label column (" + option + " " + column + ") or not");
  }
  if (table.rows == 0) throw Error(path + ": no data rows; expected at least one point");
  const std::size_t features = table.cols - (label_col ? 1 : 0);
  out.x.resize(static_cast<Eigen::Index>(table.rows), static_cast<Eigen::Index>(features));
  for (std::size_t r = 0; r < table.rows; ++r) {
    std::size_t j = 0;
    for (std::size_t c = 0; c < table.cols; ++c)
      if (!label_col || c != *label_col)
        out.x(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(j++)) = detail::text_table_number(table, r, c, path);
  }
  require_finite(out.x, path);
  if (label_col) out.labels = text_labels(table, *label_col, path);
  return out;
}

}  // namespace

LabeledData read_labeled_data(const std::string& text, const std::string& column, const std::string& option,
                              std::optional<Eigen::Index> feature_count) {
  const DataSource source = parse_data_source(text);
  LabeledData data = read_whole_labeled_data(source.path, column, option, feature_count);
  if (!source.sliced) return data;
  const auto n = static_cast<std::size_t>(data.x.rows());
  const std::size_t end = source.end.value_or(n);
  if (end > n || source.begin >= n)
    throw Error(source.text + ": asks for rows " + std::to_string(source.begin) + ":" + std::to_string(end) + " but " +
                source.path + " has " + std::to_string(n) + " (0:" + std::to_string(n) + ")");
  data.x = RowMatrixD(
      data.x.middleRows(static_cast<Eigen::Index>(source.begin), static_cast<Eigen::Index>(end - source.begin)));
  if (data.labels) data.labels = keep_rows(std::move(*data.labels), source);
  return data;
}

void align_classes(const ClassLabels& reference, ClassLabels& labels, const std::string& what) {
  if (reference.numeric != labels.numeric)
    throw Error(what + ": its labels are " + (labels.numeric ? "numbers" : "names") + " but the training labels are " +
                (reference.numeric ? "numbers" : "names") + "; both need the same kind");
  std::vector<int> to_reference(labels.classes.size(), -1);
  for (std::size_t c = 0; c < labels.classes.size(); ++c) {
    if (labels.numeric) {
      const auto it = std::lower_bound(reference.values.begin(), reference.values.end(), labels.values[c]);
      if (it != reference.values.end() && *it == labels.values[c])
        to_reference[c] = static_cast<int>(it - reference.values.begin());
    } else {
      const auto it = std::find(reference.classes.begin(), reference.classes.end(), labels.classes[c]);
      if (it != reference.classes.end()) to_reference[c] = static_cast<int>(it - reference.classes.begin());
    }
  }
  for (int& i : labels.index) i = i >= 0 ? to_reference[static_cast<std::size_t>(i)] : -1;
  labels.classes = reference.classes;
  labels.values = reference.values;
}

std::string encode_predicted_labels(const ClassLabels& labels, const std::vector<int>& predicted, std::string& extension) {
  if (labels.npy_descr.empty()) {
    extension = ".csv";
    std::string out = labels.column_name.empty() ? "" : labels.column_name + "\n";
    for (const int p : predicted) out += labels.classes.at(static_cast<std::size_t>(p)) + "\n";
    return out;
  }
  extension = ".npy";
  const LabelDtype t = label_dtype(labels.npy_descr, "labels");
  std::string out = detail::npy_preamble_for_descr(labels.npy_descr, {predicted.size()});
  if (t.kind == 'U' || t.kind == 'S') {  // the training names fit the training width
    for (const int p : predicted) {
      const std::string& name = labels.classes.at(static_cast<std::size_t>(p));
      std::string item(t.item_bytes(), '\0');
      if (t.kind == 'S') {
        item.replace(0, name.size(), name);
      } else {
        const std::u32string wide = to_utf32(name);
        for (std::size_t k = 0; k < wide.size(); ++k)
          for (std::size_t b = 0; b < 4; ++b) item[4 * k + b] = static_cast<char>((wide[k] >> (8 * b)) & 0xFF);
      }
      out += item;
    }
    return out;
  }
  for (const int p : predicted) {
    const std::int64_t v = labels.values.at(static_cast<std::size_t>(p));
    std::uint64_t bits = static_cast<std::uint64_t>(v);
    if (t.kind == 'f') {
      if (t.size == 4) {
        const float f = static_cast<float>(v);
        std::uint32_t b32 = 0;
        std::memcpy(&b32, &f, 4);
        bits = b32;
      } else {
        const double d = static_cast<double>(v);
        std::memcpy(&bits, &d, 8);
      }
    }
    for (std::size_t b = 0; b < t.size; ++b) out += static_cast<char>((bits >> (8 * b)) & 0xff);
  }
  return out;
}

}  // namespace ntkit
