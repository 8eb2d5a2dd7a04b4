#include "vector_math.hpp"

#include <cmath>

#if defined(__AVX__) && defined(NTKIT_HAVE_SLEEF)
#include <immintrin.h>
#include <sleef.h>
#define NTKIT_VECTOR_MATH 1
#endif

namespace ntkit::detail {

#ifdef NTKIT_VECTOR_MATH

void atan2_array(const double* y, const double* x, double* out, std::size_t n) {
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4)
    _mm256_storeu_pd(out + i, Sleef_atan2d4_u10(_mm256_loadu_pd(y + i), _mm256_loadu_pd(x + i)));
  for (; i < n; ++i) out[i] = std::atan2(y[i], x[i]);
}

void atan2_array(const float* y, const float* x, float* out, std::size_t n) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i, Sleef_atan2f8_u10(_mm256_loadu_ps(y + i), _mm256_loadu_ps(x + i)));
  for (; i < n; ++i) out[i] = std::atan2(y[i], x[i]);
}

void exp_array(const double* x, double* out, std::size_t n) {
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) _mm256_storeu_pd(out + i, Sleef_expd4_u10(_mm256_loadu_pd(x + i)));
  for (; i < n; ++i) out[i] = std::exp(x[i]);
}

void exp_array(const float* x, float* out, std::size_t n) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, Sleef_expf8_u10(_mm256_loadu_ps(x + i)));
  for (; i < n; ++i) out[i] = std::exp(x[i]);
}

void expm1_array(const double* x, double* out, std::size_t n) {
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) _mm256_storeu_pd(out + i, Sleef_expm1d4_u10(_mm256_loadu_pd(x + i)));
  for (; i < n; ++i) out[i] = std::expm1(x[i]);
}

void erfc_array(const double* x, double* out, std::size_t n) {
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) _mm256_storeu_pd(out + i, Sleef_erfcd4_u15(_mm256_loadu_pd(x + i)));
  for (; i < n; ++i) out[i] = std::erfc(x[i]);
}

#else

template <class T>
void atan2_scalar(const T* y, const T* x, T* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = std::atan2(y[i], x[i]);
}
template <class T>
void exp_scalar(const T* x, T* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = std::exp(x[i]);
}
void atan2_array(const double* y, const double* x, double* out, std::size_t n) { atan2_scalar(y, x, out, n); }
void atan2_array(const float* y, const float* x, float* out, std::size_t n) { atan2_scalar(y, x, out, n); }
void exp_array(const double* x, double* out, std::size_t n) { exp_scalar(x, out, n); }
void exp_array(const float* x, float* out, std::size_t n) { exp_scalar(x, out, n); }
void expm1_array(const double* x, double* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = std::expm1(x[i]);
}
void erfc_array(const double* x, double* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = std::erfc(x[i]);
}

#endif

}  // namespace ntkit::detail
