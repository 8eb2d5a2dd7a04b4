// Reading and writing matrices as text: CSV or whitespace-separated values.
//
// Numbers are parsed with std::from_chars and printed with std::to_chars, which never consult
// the C locale (strtod under a German locale would read "1.5" as 1), and to_chars' shortest
// representation reads back as the identical double.
#include <charconv>
#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "ntkit/error.hpp"
#include "ntkit/io.hpp"
#include "text_table.hpp"

namespace ntkit {
namespace {

enum class Separator { Unknown, Comma, Whitespace };

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

// Shows an offending field in a message; long or binary fields are shortened and escaped.
std::string quote_field(std::string_view field) {
  constexpr std::size_t kMaxChars = 40;
  std::string out = "'";
  for (std::size_t i = 0; i < field.size() && i < kMaxChars; ++i) {
    const auto c = static_cast<unsigned char>(field[i]);
    if (c >= 0x20 && c != 0x7f) {
      out += static_cast<char>(c);  // printable ASCII, and UTF-8 bytes kept as they are
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  if (field.size() > kMaxChars) out += "...";
  return out + "'";
}

// Splits one line into trimmed fields. With commas, "1, 2 ,3" is three fields and "1,,3" has an
// empty middle field (reported later as not a number); with whitespace, runs of spaces and tabs
// separate fields.
void split_fields(std::string_view line, Separator separator, std::vector<std::string_view>& out) {
  out.clear();
  if (separator == Separator::Comma) {
    while (true) {
      const std::size_t comma = line.find(',');
      out.push_back(trim(line.substr(0, comma)));
      if (comma == std::string_view::npos) break;
      line.remove_prefix(comma + 1);
    }
    return;
  }
  std::size_t pos = 0;
  while (true) {
    while (pos < line.size() && is_blank(line[pos])) ++pos;
    if (pos == line.size()) break;
    const std::size_t start = pos;
    while (pos < line.size() && !is_blank(line[pos])) ++pos;
    out.push_back(line.substr(start, pos - start));
  }
}

enum class NumberStatus { Ok, NotANumber, OutOfRange };

NumberStatus parse_number(std::string_view field, double& value) {
  // from_chars does not accept the explicit plus sign that many writers emit ("+1.5").
  if (field.size() >= 2 && field[0] == '+' && field[1] != '-' && field[1] != '+') {
    field.remove_prefix(1);
  }
  if (field.empty()) return NumberStatus::NotANumber;
  const char* end = field.data() + field.size();
  const auto [ptr, ec] = std::from_chars(field.data(), end, value);
  if (ptr != end) return NumberStatus::NotANumber;
  if (ec == std::errc::invalid_argument) return NumberStatus::NotANumber;
  // from_chars leaves `value` untouched when the number overflows ("1e999") or underflows
  // below the smallest subnormal ("1e-400"); both are reported rather than guessed at.
  if (ec == std::errc::result_out_of_range) return NumberStatus::OutOfRange;
  return NumberStatus::Ok;
}

// Built only on failure: formatting a location for every value would slow parsing down.
[[noreturn]] void report_bad_field(const std::string& name, std::string_view field, NumberStatus status,
                                   std::size_t line_number, std::size_t col) {
  const std::string where = name + ": line " + std::to_string(line_number) + ", column " + std::to_string(col + 1);
  if (status == NumberStatus::OutOfRange) {
    throw Error(where + ": " + quote_field(field) + " is outside the range of a float64 (about 4.9e-324 to 1.8e308)");
  }
  if (field.empty()) throw Error(where + ": empty field (expected a number)");
  throw Error(where + ": " + quote_field(field) + " is not a number");
}

// Reads numbers (parse(), a matrix) or keeps every field as text (table(), for class labels
// that are names and for picking a label column out of a data file).
class TextMatrixParser {
 public:
  TextMatrixParser(std::string_view text, const std::string& name) : text_(text), name_(name) {}

  detail::TextTable table() {
    keep_text_ = true;
    parse();
    detail::TextTable out;
    out.cols = cols_;
    if (!header_candidate_.empty()) {
      // A first line of names only is a header unless the table is all names and each of its
      // names occurs again below it (a file of class names without a header: "setosa" twice).
      bool header = rows_ == 0;
      double ignored = 0.0;
      for (const std::string_view cell : cells_) header = header || parse_number(cell, ignored) == NumberStatus::Ok;
      for (std::size_t c = 0; !header && c < header_candidate_.size() && c < cols_; ++c) {
        bool again = false;
        for (std::size_t r = 0; r < rows_ && !again; ++r) again = cells_[r * cols_ + c] == header_candidate_[c];
        header = !again;
      }
      if (rows_ > 0 && header_candidate_.size() != cols_)
        fail("line " + std::to_string(header_line_) + " has " + std::to_string(header_candidate_.size()) +
             (header ? " column names" : " columns") + " but line " + std::to_string(first_row_line_) + " has " +
             std::to_string(cols_) + " values; every row needs the same number of columns");
      if (header) {
        out.header.assign(header_candidate_.begin(), header_candidate_.end());
        if (rows_ == 0) out.cols = header_candidate_.size();
      } else {
        cells_.insert(cells_.begin(), header_candidate_.begin(), header_candidate_.end());
        row_lines_.insert(row_lines_.begin(), header_line_);
        ++rows_;
      }
    }
    out.rows = rows_;
    out.cells = std::move(cells_);
    out.lines = std::move(row_lines_);
    return out;
  }

  RowMatrixD parse() {
    // Spreadsheet programs often start UTF-8 files with a byte order mark; it is not data.
    constexpr std::string_view kBom = "\xEF\xBB\xBF";
    if (text_.substr(0, kBom.size()) == kBom) text_.remove_prefix(kBom.size());

    std::size_t line_number = 0;
    bool seen_first_line = false;
    std::vector<std::string_view> fields;
    while (!text_.empty()) {
      const std::size_t newline = text_.find('\n');
      std::string_view line = text_.substr(0, newline);
      text_.remove_prefix(newline == std::string_view::npos ? text_.size() : newline + 1);
      ++line_number;
      line = trim(line);  // also drops the '\r' of Windows line endings
      if (line.empty() || line.front() == '#') continue;

      const Separator line_separator = classify(line);
      const bool is_first_line = !seen_first_line;
      seen_first_line = true;
      split_fields(line, line_separator == Separator::Comma ? Separator::Comma : Separator::Whitespace, fields);
      if (is_first_line && is_header(fields)) {
        // A header of column names. Its separator only counts when it has commas: names such
        // as "sepal length" contain spaces even in a CSV file.
        if (line_separator == Separator::Comma) note_separator(Separator::Comma, line_number);
        header_columns_ = fields.size();
        if (keep_text_) {
          header_candidate_.assign(fields.begin(), fields.end());
          header_line_ = line_number;
        }
        continue;
      }
      note_separator(line_separator, line_number);
      add_row(fields, line_number);
    }
    if (keep_text_) return {};
    const std::size_t cols = rows_ > 0 ? cols_ : header_columns_;
    RowMatrixD matrix(static_cast<Eigen::Index>(rows_), static_cast<Eigen::Index>(cols));
    if (rows_ > 0) {
      matrix = Eigen::Map<const RowMatrixD>(values_.data(), matrix.rows(), matrix.cols());
    }
    return matrix;
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const { throw Error(name_ + ": " + problem); }

  // A line with a comma is a comma line; otherwise a line with several fields is a whitespace
  // line; a single field fits either kind of file.
  static Separator classify(std::string_view line) {
    if (line.find(',') != std::string_view::npos) return Separator::Comma;
    for (const char c : line) {
      if (is_blank(c)) return Separator::Whitespace;
    }
    return Separator::Unknown;
  }

  void note_separator(Separator separator, std::size_t line_number) {
    if (separator == Separator::Unknown) return;
    if (separator_ == Separator::Unknown) {
      separator_ = separator;
      separator_line_ = line_number;
      return;
    }
    if (separator != separator_) {
      const auto describe = [](Separator s) { return s == Separator::Comma ? "commas" : "whitespace"; };
      fail("line " + std::to_string(line_number) + " separates values with " + describe(separator) + " but line " +
           std::to_string(separator_line_) + " uses " + describe(separator_) + "; use one separator throughout the file");
    }
  }

  // A header names every column and none of its names is a number (quoted or not). A first
  // line with any number in it is data, so a damaged first row ("1,,3", "1,2,x") is reported
  // instead of being dropped as a header, and so is "\"1\",\"2\"" (quoted numbers: data
  // written with quotes, which this reader does not take).
  static bool is_header(const std::vector<std::string_view>& fields) {
    double ignored = 0.0;
    for (std::string_view field : fields) {
      if (field.size() >= 2 && (field.front() == '"' || field.front() == '\'') && field.back() == field.front()) {
        field = trim(field.substr(1, field.size() - 2));
      }
      if (field.empty() || parse_number(field, ignored) != NumberStatus::NotANumber) return false;
    }
    return true;
  }

  void add_row(const std::vector<std::string_view>& fields, std::size_t line_number) {
    if (rows_ == 0) {
      cols_ = fields.size();
      first_row_line_ = line_number;
    } else if (fields.size() != cols_) {
      fail("line " + std::to_string(line_number) + " has " + std::to_string(fields.size()) + " columns but line " +
           std::to_string(first_row_line_) + " has " + std::to_string(cols_) + "; every row needs the same number of values");
    }
    ++rows_;
    if (keep_text_) {
      cells_.insert(cells_.end(), fields.begin(), fields.end());
      row_lines_.push_back(line_number);
      return;
    }
    for (std::size_t col = 0; col < fields.size(); ++col) {
      double value = 0.0;
      const NumberStatus status = parse_number(fields[col], value);
      if (status != NumberStatus::Ok) report_bad_field(name_, fields[col], status, line_number, col);
      values_.push_back(value);
    }
  }

  std::string_view text_;
  const std::string& name_;
  Separator separator_ = Separator::Unknown;
  std::size_t separator_line_ = 0;
  std::size_t header_columns_ = 0;
  std::size_t rows_ = 0;
  std::size_t cols_ = 0;
  std::size_t first_row_line_ = 0;
  std::vector<double> values_;
  // table(): every field as text, the line of each row, and a first line of names only.
  bool keep_text_ = false;
  std::vector<std::string_view> cells_, header_candidate_;
  std::vector<std::size_t> row_lines_;
  std::size_t header_line_ = 0;
};

}  // namespace

namespace detail {

TextTable parse_text_table(std::string_view text, const std::string& name) { return TextMatrixParser(text, name).table(); }

double text_table_number(const TextTable& table, std::size_t row, std::size_t col, const std::string& name) {
  const std::string_view field = table.cell(row, col);
  double value = 0.0;
  const NumberStatus status = parse_number(field, value);
  if (status != NumberStatus::Ok) report_bad_field(name, field, status, table.lines[row], col);
  return value;
}

}  // namespace detail

RowMatrixD parse_text_matrix(std::string_view text, const std::string& name) { return TextMatrixParser(text, name).parse(); }

std::string format_csv(const RowMatrixD& matrix) {
  std::string out;
  // Shortest round-trip forms are at most 24 characters ("-2.2250738585072014e-308").
  out.reserve(static_cast<std::size_t>(matrix.size()) * 25);
  char buffer[32];
  for (Eigen::Index row = 0; row < matrix.rows(); ++row) {
    for (Eigen::Index col = 0; col < matrix.cols(); ++col) {
      if (col > 0) out += ',';
      const auto result = std::to_chars(buffer, buffer + sizeof(buffer), matrix(row, col));
      out.append(buffer, result.ptr);
    }
    out += '\n';
  }
  return out;
}

}  // namespace ntkit
