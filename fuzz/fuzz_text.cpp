// Fuzz target for the CSV / whitespace text reader.
//
// Any input may be rejected with ntkit::Error; anything else is a bug. An accepted input is
// formatted with format_csv and parsed again; the values must come back identical (NaN
// compares equal to NaN), because format_csv promises shortest round-trip output.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ntkit/error.hpp"
#include "ntkit/io.hpp"

namespace {

bool same_value(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  // == alone would accept 0.0 for -0.0; the sign of zero must survive as well.
  return a == b && std::signbit(a) == std::signbit(b);
}

[[noreturn]] void bug(const char* what) {
  std::fprintf(stderr, "fuzz_text: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  ntkit::RowMatrixD matrix;
  try {
    matrix = ntkit::parse_text_matrix(text, "fuzz.csv");
  } catch (const ntkit::Error& error) {
    if (std::string_view(error.what()).substr(0, 10) != "fuzz.csv: ") bug("message lacks name");
    return 0;
  }
  // Outside the try block: formatted output that does not parse again is a bug.
  const ntkit::RowMatrixD again = ntkit::parse_text_matrix(ntkit::format_csv(matrix), "again");
  if (matrix.rows() == 0) {
    // A header-only file has columns but no rows; with no rows there is nothing to write.
    if (again.size() != 0) bug("an empty matrix came back non-empty");
    return 0;
  }
  if (again.rows() != matrix.rows() || again.cols() != matrix.cols()) bug("shape changed");
  for (Eigen::Index i = 0; i < matrix.size(); ++i) {
    if (!same_value(again.data()[i], matrix.data()[i])) bug("a value changed in the round trip");
  }
  return 0;
}
