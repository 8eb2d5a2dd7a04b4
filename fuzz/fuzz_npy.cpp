// Fuzz target for the .npy decoder.
//
// Any input may be rejected with ntkit::Error; anything else (another exception, a crash, a
// sanitizer report, a hang) is a bug. An accepted input is re-encoded and decoded again, and
// must give back the same values: this checks the encoder against the decoder on shapes and
// values that no hand-written test thought of.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "ntkit/error.hpp"
#include "ntkit/io.hpp"

namespace {

// Bit-for-bit equality, so that NaN payloads and -0.0 have to survive too.
bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

[[noreturn]] void bug(const char* what) {
  std::fprintf(stderr, "fuzz_npy: %s\n", what);
  std::abort();
}

void check_round_trip(const ntkit::NpyArray& array) {
  // encode_npy writes 1-D and 2-D float arrays; integers are written back as float64, which
  // holds every int32 exactly, and int64 after the (deterministic) rounding on decoding.
  if (array.shape.empty() || array.shape.size() > 2) return;
  const auto rows = static_cast<Eigen::Index>(array.shape[0]);
  const auto cols = array.shape.size() == 2 ? static_cast<Eigen::Index>(array.shape[1]) : 1;
  ntkit::RowMatrixD matrix(rows, cols);
  if (!array.values.empty()) {
    matrix = Eigen::Map<const ntkit::RowMatrixD>(array.values.data(), rows, cols);
  }
  const bool as_vector = array.shape.size() == 1;
  const ntkit::DType dtype = array.dtype == ntkit::DType::Float32 ? ntkit::DType::Float32 : ntkit::DType::Float64;
  const std::string encoded = ntkit::encode_npy(matrix, dtype, as_vector);
  const ntkit::NpyArray again = ntkit::parse_npy(encoded, "re-encoded");
  if (again.shape != array.shape) bug("shape changed in the round trip");
  if (again.fortran_order) bug("encoder wrote Fortran order");
  if (again.values.size() != array.values.size()) bug("value count changed in the round trip");
  for (std::size_t i = 0; i < array.values.size(); ++i) {
    if (!same_bits(again.values[i], array.values[i])) bug("a value changed in the round trip");
  }
  if (array.dtype == ntkit::DType::Float32) {
    // The float32 overload must write the same bytes as the narrowing float64 path.
    if (ntkit::encode_npy(ntkit::RowMatrixF(matrix.cast<float>()), as_vector) != encoded) {
      bug("the two float32 encoders disagree");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  ntkit::NpyArray array;
  try {
    array = ntkit::parse_npy(bytes, "fuzz.npy");
  } catch (const ntkit::Error& error) {
    // Rejection is the normal outcome; a message must still say which file.
    if (std::string_view(error.what()).substr(0, 10) != "fuzz.npy: ") bug("message lacks name");
    return 0;
  }
  // Outside the try block: an Error from re-encoding a valid array is a bug, and escapes.
  check_round_trip(array);
  return 0;
}
