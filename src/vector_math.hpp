// Elementwise transcendental functions over arrays, vectorized with SLEEF (Debian's
// libsleef-dev; 1.0-ULP accurate "u10" variants, runtime-dispatched to AVX2/FMA or AVX) when
// the build targets AVX, scalar std:: functions otherwise. GCC does not vectorize std::atan2
// or std::exp in our loops on its own (glibc's vector math needs -ffast-math, which we do
// not want), and these calls dominate the per-entry work of the kernel maps.
#pragma once

#include <cstddef>

// NTKIT_READS(i, j): the function reads exactly as many entries through pointer argument i as
// argument j says. Callers pass stack scratch filled by a loop of that many iterations; without
// this, GCC 12 assumes the whole array is read and warns that it may be uninitialized.
#if defined(__GNUC__) && !defined(__clang__)
#define NTKIT_READS(pointer, count) __attribute__((access(read_only, pointer, count)))
#else
#define NTKIT_READS(pointer, count)
#endif

namespace ntkit::detail {

/// out[i] = atan2(y[i], x[i]) for i < n. out may alias y or x.
NTKIT_READS(1, 4) NTKIT_READS(2, 4) void atan2_array(const double* y, const double* x, double* out, std::size_t n);
NTKIT_READS(1, 4) NTKIT_READS(2, 4) void atan2_array(const float* y, const float* x, float* out, std::size_t n);

/// out[i] = exp(x[i]) for i < n. out may alias x.
NTKIT_READS(1, 3) void exp_array(const double* x, double* out, std::size_t n);
NTKIT_READS(1, 3) void exp_array(const float* x, float* out, std::size_t n);

/// out[i] = exp(x[i]) − 1, accurate for tiny |x| too. out may alias x.
NTKIT_READS(1, 3) void expm1_array(const double* x, double* out, std::size_t n);

/// out[i] = erfc(x[i]) (SLEEF's 1.5-ULP variant). out may alias x.
NTKIT_READS(1, 3) void erfc_array(const double* x, double* out, std::size_t n);

}  // namespace ntkit::detail
