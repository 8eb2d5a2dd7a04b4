// Eigen, included through one place so that one known compiler false positive is silenced at
// its source and nowhere else.
//
// GCC 12 reports -Wmaybe-uninitialized inside its own avx512fintrin.h (the `__Y = __Y`
// idiom of _mm256_undefined_pd, GCC bug 105593, fixed in GCC 13) wherever Eigen's AVX-512
// reductions are inlined: thousands of warnings on an AVX-512 machine, none in our code. GCC
// decides whether a warning is on from the pragmas in force where the warning's line is, so
// the pragma below covers the intrinsic headers, which Eigen/Core includes for the first time
// here. Every file includes this header before any other Eigen header (the CI build for an
// AVX-512 target with -Werror fails otherwise); our own code keeps the warning.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/Core>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
