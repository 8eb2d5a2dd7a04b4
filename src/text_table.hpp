// CSV / whitespace text as a table of fields (private to the library): the reader of
// parse_text_matrix, keeping each field as written. For class labels that are names
// ("setosa") and for taking a label column out of a data file (labels.hpp).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ntkit::detail {

struct TextTable {
  std::vector<std::string_view> header;  // the column names; empty without a header line
  std::size_t rows = 0, cols = 0;
  std::vector<std::string_view> cells;  // rows x cols fields, row by row (views into the text)
  std::vector<std::size_t> lines;       // the line number of each row, for messages
  std::string_view cell(std::size_t row, std::size_t col) const { return cells[row * cols + col]; }
};

/// The same format, header rule, comments and errors as parse_text_matrix, except that fields
/// are not converted: any text is a field. A first line of names only is the header, unless
/// every field is a name and each header name occurs again in its column (then it is data: a
/// file of class names without a header). The views point into `text`, which must outlive it.
TextTable parse_text_table(std::string_view text, const std::string& name);

/// The number in a cell, or parse_text_matrix's error naming `name`, the line and the column.
double text_table_number(const TextTable& table, std::size_t row, std::size_t col, const std::string& name);

}  // namespace ntkit::detail
