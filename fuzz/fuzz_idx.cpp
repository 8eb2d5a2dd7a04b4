// Fuzz target for the IDX decoder (MNIST's format) and gunzip.
//
// Any input may be rejected with ntkit::Error; anything else (another exception, a crash, a
// sanitizer report, a hang) is a bug. An accepted input is re-encoded and decoded again and must
// give back the same values; gzip-compressed input is decompressed first, as the readers do.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "ntkit/error.hpp"
#include "ntkit/idx.hpp"

namespace {

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

[[noreturn]] void bug(const char* what) {
  std::fprintf(stderr, "fuzz_idx: %s\n", what);
  std::abort();
}

void check(std::string_view bytes) {
  const ntkit::IdxArray array = ntkit::parse_idx(bytes, "fuzz");
  std::size_t count = 1;
  for (const std::size_t d : array.shape) count *= d;
  if (count != array.values.size()) bug("value count differs from the shape");
  const std::string encoded = ntkit::encode_idx(array.type, array.shape, array.values);
  // float32 NaNs may come back quieted (through double): compare those by value class only.
  bool float_nan = false;
  if (array.type == ntkit::IdxType::Float32)
    for (const double v : array.values) float_nan = float_nan || v != v;
  if (encoded != bytes && !float_nan) bug("re-encoding differs from the input");
  // A range of rows: the same values as the whole.
  const std::size_t n = array.shape[0];
  const ntkit::IdxArray tail = ntkit::parse_idx(bytes, "fuzz", ntkit::RowRange{n / 2, n});
  const std::size_t offset = (n / 2) * (count / n);
  for (std::size_t i = 0; i < tail.values.size(); ++i)
    if (!same_bits(tail.values[i], array.values[offset + i])) bug("a range of rows differs from the whole");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    if (ntkit::is_gzip(bytes)) {
      check(ntkit::gunzip(bytes, "fuzz"));
    } else {
      check(bytes);
    }
  } catch (const ntkit::Error&) {
    // Rejected with a message: fine.
  }
  return 0;
}
