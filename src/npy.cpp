// Decoding and encoding NumPy .npy files (format versions 1.0, 2.0 and 3.0).
//
// Layout of a .npy file:
//   "\x93NUMPY" major minor  header_len  header_text  data
// header_len is a little-endian uint16 (version 1.0) or uint32 (2.0 and 3.0); header_text is a
// Python dict literal such as {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }
// padded with spaces and a '\n'. We parse that literal with a small hand-written parser instead
// of evaluating anything, and every length read from the file is checked against the bytes
// actually present before it is used, so a corrupt or hostile file can only produce an Error.
#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "ntkit/error.hpp"
#include "ntkit/io.hpp"
#include "npy_format.hpp"

namespace ntkit {

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int32: return "int32";
    case DType::Int64: return "int64";
  }
  return "unknown";
}

namespace {

constexpr std::string_view kMagic{"\x93NUMPY", 6};
constexpr std::string_view kSupportedDtypes = "supported: float32 ('<f4'), float64 ('<f8'), int32 ('<i4'), int64 ('<i8')";
// numpy pads the header so that the data starts on a 64-byte boundary (for memory mapping).
constexpr std::size_t kArrayAlign = 64;
// numpy leaves room after the dict so the growing axis can be rewritten in place; we copy that
// so our files are byte-for-byte what numpy.save writes.
constexpr std::size_t kGrowthAxisMaxDigits = 21;
// Dimensions above this cannot be an Eigen::Index (or a NumPy intp) anyway.
constexpr std::uint64_t kMaxDimension = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

[[noreturn]] void fail(const std::string& name, const std::string& problem) { throw Error(name + ": " + problem); }

// Shows untrusted header text in a message: printable ASCII as is, the rest escaped, and
// shortened so that a megabyte of garbage does not end up in an error message.
std::string quote_excerpt(std::string_view text, std::size_t max_chars = 40) {
  std::string out = "'";
  for (std::size_t i = 0; i < text.size() && i < max_chars; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  if (text.size() > max_chars) out += "...";
  out += "'";
  return out;
}

std::string format_shape(const std::vector<std::size_t>& shape) {
  std::string out = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(shape[i]);
  }
  if (shape.size() == 1) out += ",";  // Python's spelling of a 1-tuple
  out += ")";
  return out;
}

// ---- Little-endian integers and floats, independent of the host's byte order ---------------

template <class UInt>
UInt load_le(const char* p) {
  UInt value = 0;
  for (std::size_t i = 0; i < sizeof(UInt); ++i) {
    value |= static_cast<UInt>(static_cast<UInt>(static_cast<unsigned char>(p[i])) << (8 * i));
  }
  return value;
}

template <class UInt>
void store_le(UInt value, std::string& out) {
  for (std::size_t i = 0; i < sizeof(UInt); ++i) {
    out += static_cast<char>(static_cast<unsigned char>(value >> (8 * i)));
  }
}

template <class T>
T load_value(const char* p) {
  if constexpr (sizeof(T) == 4) {
    return std::bit_cast<T>(load_le<std::uint32_t>(p));
  } else {
    return std::bit_cast<T>(load_le<std::uint64_t>(p));
  }
}

template <class T>
void store_value(T value, std::string& out) {
  if constexpr (sizeof(T) == 4) {
    store_le(std::bit_cast<std::uint32_t>(value), out);
  } else {
    store_le(std::bit_cast<std::uint64_t>(value), out);
  }
}

// ---- The header: a Python dict literal ----------------------------------------------------

struct Header {
  std::string descr;
  bool fortran_order = false;
  std::vector<std::size_t> shape;
};

// A recursive-descent reader for the small subset of Python literals that .npy headers use:
// strings, True/False, tuples of integers, and (only to reject them with a good message)
// lists, which is how structured dtypes are written.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& name) : text_(text), name_(name) {}

  Header parse() {
    Header header;
    bool have_descr = false, have_fortran = false, have_shape = false;
    skip_space();
    if (!consume('{')) {
      error("the header is not a Python dict: expected '{' but found " + rest_excerpt());
    }
    while (true) {
      skip_space();
      if (consume('}')) break;
      const std::string key = parse_string("a dict key");
      skip_space();
      if (!consume(':')) error("expected ':' after key '" + key + "' but found " + rest_excerpt());
      skip_space();
      if (key == "descr") {
        if (have_descr) error("key 'descr' appears twice");
        header.descr = parse_descr();
        have_descr = true;
      } else if (key == "fortran_order") {
        if (have_fortran) error("key 'fortran_order' appears twice");
        header.fortran_order = parse_bool(key);
        have_fortran = true;
      } else if (key == "shape") {
        if (have_shape) error("key 'shape' appears twice");
        header.shape = parse_shape();
        have_shape = true;
      } else {
        error("unexpected key " + quote_excerpt(key) + " (a .npy header has exactly 'descr', 'fortran_order' and 'shape')");
      }
      skip_space();
      if (consume(',')) continue;  // a trailing comma before '}' is allowed, as in Python
      skip_space();
      if (consume('}')) break;
      error("expected ',' or '}' after the value of '" + key + "' but found " + rest_excerpt());
    }
    // numpy pads the dict with spaces and ends it with '\n'; nothing else may follow.
    skip_space();
    if (pos_ != text_.size()) {
      error("unexpected text after the closing '}': " + rest_excerpt());
    }
    if (!have_descr) error("key 'descr' is missing");
    if (!have_fortran) error("key 'fortran_order' is missing");
    if (!have_shape) error("key 'shape' is missing");
    return header;
  }

 private:
  [[noreturn]] void error(const std::string& problem) const {
    // The padding after the dict is noise in a message.
    std::string_view shown = text_;
    while (!shown.empty() && (shown.back() == ' ' || shown.back() == '\n')) shown.remove_suffix(1);
    fail(name_, "bad header: " + problem + " (header text: " + quote_excerpt(shown, 120) + ")");
  }

  std::string rest_excerpt() const {
    if (pos_ >= text_.size()) return "the end of the header";
    return quote_excerpt(text_.substr(pos_), 20);
  }

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  bool consume_word(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    // "Truex" is not True: the word must end here.
    const std::size_t end = pos_ + word.size();
    if (end < text_.size()) {
      const char next = text_[end];
      if ((next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z') || (next >= '0' && next <= '9') || next == '_') {
        return false;
      }
    }
    pos_ = end;
    return true;
  }

  // A Python string literal in single or double quotes. Escapes never occur in the strings
  // numpy writes for the dtypes we support, so a backslash is reported rather than decoded.
  std::string parse_string(const char* what) {
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) {
      error("expected " + std::string(what) + " in quotes but found " + rest_excerpt());
    }
    const char quote = text_[pos_++];
    const std::size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '\\') error("escape sequences in strings are not supported");
      if (text_[pos_] == '\n') break;
      ++pos_;
    }
    if (pos_ >= text_.size() || text_[pos_] != quote) error("unterminated string");
    std::string value(text_.substr(start, pos_ - start));
    ++pos_;
    return value;
  }

  std::string parse_descr() {
    if (pos_ < text_.size() && text_[pos_] == '[') {
      error("structured dtypes (a list of fields in 'descr') are not supported; " + std::string(kSupportedDtypes));
    }
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) {
      error("'descr' must be a string such as '<f8' but found " + rest_excerpt());
    }
    return parse_string("the value of 'descr'");
  }

  bool parse_bool(const std::string& key) {
    if (consume_word("True")) return true;
    if (consume_word("False")) return false;
    error("'" + key + "' must be True or False but found " + rest_excerpt());
  }

  std::vector<std::size_t> parse_shape() {
    if (!consume('(')) {
      error("'shape' must be a tuple of integers such as (3, 4) or (3,) but found " + rest_excerpt());
    }
    std::vector<std::size_t> shape;
    skip_space();
    if (consume(')')) return shape;  // () is the shape of a 0-D array
    while (true) {
      skip_space();
      shape.push_back(parse_dimension());
      skip_space();
      if (consume(')')) {
        // In Python (3) is the integer 3, not a tuple; numpy always writes (3,).
        if (shape.size() == 1) error("'shape' (n) is not a tuple; a 1-D shape is written (n,)");
        return shape;
      }
      if (!consume(',')) {
        error("expected ',' or ')' in 'shape' but found " + rest_excerpt());
      }
      skip_space();
      if (consume(')')) return shape;  // trailing comma, e.g. (3,) or (3, 4,)
    }
  }

  std::size_t parse_dimension() {
    const std::size_t start = pos_;
    std::uint64_t value = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      const auto digit = static_cast<std::uint64_t>(text_[pos_] - '0');
      if (value > (kMaxDimension - digit) / 10) {
        error("a dimension in 'shape' is too large: " + quote_excerpt(text_.substr(start, 30)));
      }
      value = value * 10 + digit;
      ++pos_;
    }
    if (pos_ == start) {
      error("'shape' must contain non-negative integers but found " + rest_excerpt());
    }
    // Python 2 numpy wrote long integers as e.g. 3L; accept those old files.
    consume('L');
    if constexpr (sizeof(std::size_t) < sizeof(std::uint64_t)) {
      if (value > std::numeric_limits<std::size_t>::max()) {
        error("a dimension in 'shape' does not fit in memory on this machine");
      }
    }
    return static_cast<std::size_t>(value);
  }

  std::string_view text_;
  const std::string& name_;
  std::size_t pos_ = 0;
};

struct DtypeInfo {
  DType dtype;
  std::size_t item_size;
};

// Maps a descr string such as '<f8' to a supported dtype, or explains why it is not supported.
DtypeInfo interpret_descr(const std::string& descr, const std::string& name) {
  std::string_view code = descr;
  char byte_order = '=';
  if (!code.empty() && (code[0] == '<' || code[0] == '>' || code[0] == '|' || code[0] == '=')) {
    byte_order = code[0];
    code.remove_prefix(1);
  }
  static constexpr std::array<std::pair<std::string_view, DtypeInfo>, 4> kKnown{{
      {"f4", {DType::Float32, 4}},
      {"f8", {DType::Float64, 8}},
      {"i4", {DType::Int32, 4}},
      {"i8", {DType::Int64, 8}},
  }};
  const auto it = std::find_if(kKnown.begin(), kKnown.end(), [&](const auto& entry) { return entry.first == code; });
  if (!code.empty() && (code[0] == 'O')) {
    fail(name, "object arrays (dtype " + quote_excerpt(descr) + ") are not supported; " + std::string(kSupportedDtypes));
  }
  if (!code.empty() && code[0] == 'V') {
    fail(name, "structured or void dtype " + quote_excerpt(descr) + " is not supported; " + std::string(kSupportedDtypes));
  }
  if (it == kKnown.end()) {
    fail(name, "unsupported dtype " + quote_excerpt(descr) + "; " + std::string(kSupportedDtypes));
  }
  if (byte_order == '>') {
    fail(name, "big-endian data (dtype " + quote_excerpt(descr) + ") is not supported; convert with arr.astype('<" +
                   std::string(code) + "')");
  }
  // '=' (native, never written by numpy.save but valid in a dtype string) is only the same as
  // '<' on a little-endian host.
  if (byte_order == '=' && std::endian::native != std::endian::little) {
    fail(name, "native byte order dtype " + quote_excerpt(descr) + " is ambiguous on this big-endian machine; write '<" +
                   std::string(code) + "' explicitly");
  }
  // '|' means "byte order not applicable"; for these dtypes we read it as little-endian,
  // the only byte order any writer we know of uses.
  return it->second;
}

template <class T>
void decode_values(const char* data, std::size_t count, std::vector<double>& out) {
  out.resize(count);
  if constexpr (std::endian::native == std::endian::little && std::is_same_v<T, double>) {
    if (count > 0) std::memcpy(out.data(), data, count * sizeof(double));
  } else {
    for (std::size_t i = 0; i < count; ++i) {
      out[i] = static_cast<double>(load_value<T>(data + i * sizeof(T)));
    }
  }
}

// Reorders values stored in Fortran (column-major) order into C (row-major) order.
std::vector<double> fortran_to_c_order(const std::vector<double>& fortran, const std::vector<std::size_t>& shape) {
  const std::size_t ndim = shape.size();
  if (ndim < 2 || fortran.empty()) return fortran;  // 0-D and 1-D are the same in both orders
  // C-order stride of each axis: the step in the output when that index grows by one.
  std::vector<std::size_t> c_stride(ndim, 1);
  for (std::size_t axis = ndim - 1; axis > 0; --axis) {
    c_stride[axis - 1] = c_stride[axis] * shape[axis];
  }
  std::vector<double> c_order(fortran.size());
  // Walk the input in storage order, where the first index varies fastest, keeping the
  // multi-index and its C-order offset up to date like an odometer.
  std::vector<std::size_t> index(ndim, 0);
  std::size_t c_offset = 0;
  for (const double value : fortran) {
    c_order[c_offset] = value;
    for (std::size_t axis = 0; axis < ndim; ++axis) {
      if (++index[axis] < shape[axis]) {
        c_offset += c_stride[axis];
        break;
      }
      c_offset -= (shape[axis] - 1) * c_stride[axis];
      index[axis] = 0;
    }
  }
  return c_order;
}

// ---- Encoding ------------------------------------------------------------------------------

// Builds the complete preamble (magic, version, length, dict, padding) exactly as numpy.save
// does, choosing version 1.0 unless the header needs the 4-byte length of version 2.0.
std::string encode_preamble(const char* descr, const std::vector<std::size_t>& shape) {
  std::string dict = "{'descr': '";
  dict += descr;
  dict += "', 'fortran_order': False, 'shape': ";
  dict += format_shape(shape);
  dict += ", }";
  if (!shape.empty()) {
    const std::size_t digits = std::to_string(shape[0]).size();
    if (digits < kGrowthAxisMaxDigits) dict.append(kGrowthAxisMaxDigits - digits, ' ');
  }
  for (const int major : {1, 2}) {
    const std::size_t length_bytes = major == 1 ? 2 : 4;
    const std::size_t prefix = kMagic.size() + 2 + length_bytes;
    const std::size_t unpadded = dict.size() + 1;  // + the final '\n'
    const std::size_t padding = kArrayAlign - (prefix + unpadded) % kArrayAlign;
    const std::size_t header_len = unpadded + padding;
    if (major == 1 && header_len > 0xffff) continue;
    std::string out(kMagic);
    out += static_cast<char>(major);
    out += '\0';
    if (major == 1) {
      store_le(static_cast<std::uint16_t>(header_len), out);
    } else {
      store_le(static_cast<std::uint32_t>(header_len), out);
    }
    out += dict;
    out.append(padding, ' ');
    out += '\n';
    return out;
  }
  throw Error("encode_npy: the .npy header is too long");
}

std::vector<std::size_t> output_shape(Eigen::Index rows, Eigen::Index cols, bool as_vector) {
  // as_vector only changes the shape of a one-column matrix; other matrices stay 2-D.
  if (as_vector && cols == 1) return {static_cast<std::size_t>(rows)};
  return {static_cast<std::size_t>(rows), static_cast<std::size_t>(cols)};
}

// Narrows to the stored type. A double beyond the float range is undefined behaviour for a
// plain cast, so it is rounded here as IEEE (and numpy's astype) would: values at least halfway
// between FLT_MAX and 2**128 become infinite, the rest FLT_MAX.
template <class Out>
Out narrow(double value) {
  if constexpr (std::is_same_v<Out, float>) {
    constexpr double kMax = std::numeric_limits<float>::max();
    constexpr double kHalfwayToInfinity = 0x1p128 - 0x1p103;
    if (value > kMax || value < -kMax) {
      const float magnitude = std::abs(value) >= kHalfwayToInfinity ? std::numeric_limits<float>::infinity()
                                                                    : std::numeric_limits<float>::max();
      return value < 0 ? -magnitude : magnitude;
    }
  }
  return static_cast<Out>(value);
}

template <class Out, class Matrix>
std::string encode_matrix(const Matrix& matrix, const char* descr, bool as_vector) {
  std::string out = encode_preamble(descr, output_shape(matrix.rows(), matrix.cols(), as_vector));
  out.reserve(out.size() + static_cast<std::size_t>(matrix.size()) * sizeof(Out));
  // Row-major storage is already C order.
  const auto* data = matrix.data();
  for (Eigen::Index i = 0; i < matrix.size(); ++i) {
    store_value(narrow<Out>(static_cast<double>(data[i])), out);
  }
  return out;
}

}  // namespace

namespace detail {

std::string npy_matrix_preamble(DType dtype, std::size_t rows, std::size_t cols) { return npy_preamble(dtype, {rows, cols}); }

std::string npy_preamble_for_descr(const std::string& descr, const std::vector<std::size_t>& shape) {
  return encode_preamble(descr.c_str(), shape);
}

std::string npy_preamble(DType dtype, const std::vector<std::size_t>& shape) {
  if (dtype != DType::Float32 && dtype != DType::Float64)
    throw Error("npy_preamble: only float32 and float64 arrays are written");
  return encode_preamble(dtype == DType::Float32 ? "<f4" : "<f8", shape);
}

}  // namespace detail

namespace detail {

NpyHeader parse_npy_header(std::string_view bytes, const std::string& name) {
  if (bytes.size() < kMagic.size() || bytes.substr(0, kMagic.size()) != kMagic) {
    fail(name, "not a .npy file: it does not start with the magic string \\x93NUMPY");
  }
  if (bytes.size() < kMagic.size() + 2) {
    fail(name, "truncated .npy file: it ends inside the format version");
  }
  const auto major = static_cast<unsigned char>(bytes[6]);
  const auto minor = static_cast<unsigned char>(bytes[7]);
  if (minor != 0 || major < 1 || major > 3) {
    fail(name, "unsupported .npy format version " + std::to_string(major) + "." + std::to_string(minor) +
                   " (supported: 1.0, 2.0, 3.0)");
  }
  const std::size_t length_bytes = major == 1 ? 2 : 4;
  const std::size_t prefix = kMagic.size() + 2 + length_bytes;
  if (bytes.size() < prefix) {
    fail(name, "truncated .npy file: it ends inside the header length");
  }
  const std::size_t header_len = major == 1 ? load_le<std::uint16_t>(bytes.data() + 8)
                                            : load_le<std::uint32_t>(bytes.data() + 8);
  if (header_len > bytes.size() - prefix) {
    fail(name, "truncated header: the header length field says " + std::to_string(header_len) + " bytes but only " +
                   std::to_string(bytes.size() - prefix) + " bytes follow");
  }
  // Version 3.0 only differs by allowing utf-8 in the header; the keys and values we accept
  // are ASCII, so the same parser serves all versions.
  const Header header = HeaderParser(bytes.substr(prefix, header_len), name).parse();
  return {header.descr, header.fortran_order, header.shape, bytes.substr(prefix + header_len)};
}

}  // namespace detail

NpyArray parse_npy(std::string_view bytes, const std::string& name) {
  const detail::NpyHeader header = detail::parse_npy_header(bytes, name);
  const DtypeInfo info = interpret_descr(header.descr, name);

  // The number of values, and of bytes, guarded against overflow: a hostile shape such as
  // (2**62, 2**62) must not wrap around to a small number.
  std::size_t count = 1;
  const bool has_zero = std::find(header.shape.begin(), header.shape.end(), 0) != header.shape.end();
  if (has_zero) {
    count = 0;
  } else {
    for (const std::size_t dim : header.shape) {
      if (count > std::numeric_limits<std::size_t>::max() / dim) {
        fail(name, "shape " + format_shape(header.shape) + " has too many values");
      }
      count *= dim;
    }
  }
  if (count > std::numeric_limits<std::size_t>::max() / info.item_size) {
    fail(name, "shape " + format_shape(header.shape) + " has too many values");
  }
  const std::size_t data_bytes = count * info.item_size;
  const std::size_t available = header.data.size();
  const std::string described = "header says " + std::to_string(count) + " values (" + std::to_string(data_bytes) + " bytes)";
  if (available < data_bytes) {
    fail(name, "truncated: " + described + " but only " + std::to_string(available) + " bytes follow");
  }
  if (available > data_bytes) {
    fail(name, "unexpected data after the array: " + described + " but " + std::to_string(available) + " bytes follow");
  }

  NpyArray array;
  array.shape = header.shape;
  array.dtype = info.dtype;
  array.fortran_order = header.fortran_order;
  const char* data = header.data.data();
  switch (info.dtype) {
    case DType::Float32: decode_values<float>(data, count, array.values); break;
    case DType::Float64: decode_values<double>(data, count, array.values); break;
    // int64 beyond 2**53 is rounded to the nearest double; data matrices are doubles anyway.
    case DType::Int32: decode_values<std::int32_t>(data, count, array.values); break;
    case DType::Int64: decode_values<std::int64_t>(data, count, array.values); break;
  }
  if (header.fortran_order) array.values = fortran_to_c_order(array.values, array.shape);
  return array;
}

std::string encode_npy(const RowMatrixD& matrix, DType dtype, bool as_vector) {
  switch (dtype) {
    case DType::Float64: return encode_matrix<double>(matrix, "<f8", as_vector);
    case DType::Float32: return encode_matrix<float>(matrix, "<f4", as_vector);
    case DType::Int32:
    case DType::Int64: break;
  }
  throw Error(std::string("encode_npy: dtype ") + dtype_name(dtype) +
              " is not supported for writing; use float64 or float32");
}

std::string encode_npy(const RowMatrixF& matrix, bool as_vector) { return encode_matrix<float>(matrix, "<f4", as_vector); }

namespace {

// The number of values of `shape`, or an error naming `who` if it overflows size_t.
std::size_t value_count(const std::vector<std::size_t>& shape, const char* who) {
  std::size_t count = 1;
  for (const std::size_t extent : shape) {
    if (extent != 0 && count > std::numeric_limits<std::size_t>::max() / sizeof(double) / extent)
      throw Error(std::string(who) + ": the shape " + format_shape(shape) + " is too large");
    count *= extent;
  }
  return count;
}

void append_values(const double* values, std::size_t count, std::string& out) {
  for (std::size_t i = 0; i < count; ++i) store_value(values[i], out);
}

}  // namespace

std::string encode_npy(const std::vector<std::size_t>& shape, const double* values) {
  const std::size_t count = value_count(shape, "encode_npy");
  std::string out = encode_preamble("<f8", shape);
  out.reserve(out.size() + count * sizeof(double));
  append_values(values, count, out);
  return out;
}

std::string encode_npy_stack(const std::vector<RowMatrixD>& stack) {
  if (stack.empty()) throw Error("write_npy_stack needs at least one matrix (the shape of none is unknown)");
  const Eigen::Index rows = stack.front().rows(), cols = stack.front().cols();
  for (std::size_t i = 1; i < stack.size(); ++i) {
    if (stack[i].rows() != rows || stack[i].cols() != cols)
      throw Error("write_npy_stack: matrix " + std::to_string(i) + " is " + std::to_string(stack[i].rows()) + " x " +
                  std::to_string(stack[i].cols()) + ", matrix 0 is " + std::to_string(rows) + " x " + std::to_string(cols) +
                  "; a stack needs equal shapes");
  }
  const std::vector<std::size_t> shape{stack.size(), static_cast<std::size_t>(rows), static_cast<std::size_t>(cols)};
  const std::size_t count = value_count(shape, "write_npy_stack");
  std::string out = encode_preamble("<f8", shape);
  out.reserve(out.size() + count * sizeof(double));
  // Row-major matrices one after another: C order of (count, rows, cols).
  for (const RowMatrixD& m : stack) append_values(m.data(), static_cast<std::size_t>(m.size()), out);
  return out;
}

}  // namespace ntkit
