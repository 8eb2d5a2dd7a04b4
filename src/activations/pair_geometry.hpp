// The geometry of a pair (u, v) ~ N(0, [[q1, k], [k, q2]]) that every dual formula starts from,
// over one chunk of entries (docs/mathematics.md §6):
//   r = √(q1 q2), ρ = k / r clipped to [−1, 1] (0 when r = 0), kc = ρ r (k clipped),
//   s = √(q1 q2 − kc²) = r sn with sn = √((1 − ρ)(1 + ρ)), θ = atan2(sn, ρ) ∈ [0, π].
// ρ = 1 exactly for k = q1 = q2 because √(fl(q·q)) = q in binary floating point, so θ = 0
// exactly; the files of this folder are compiled with -ffp-contract=off (CMake) so that no
// fused multiply-add perturbs that. A zero-norm side (q1 q2 = 0) is treated as uncorrelated
// (ρ = 0, θ = π/2), as neural-tangents' `_arctan2(..., fill_zero=π/2)` does.
#pragma once

#include <cmath>
#include <cstddef>
#include <numbers>

#include "activations/activation_rules.hpp"

namespace ntkit::activations {

inline constexpr double kPi = std::numbers::pi;
inline constexpr double k2Pi = 2.0 * std::numbers::pi;
// Multiplying by fl(1/(2π)) instead of dividing by fl(2π) (a division costs as much as the rest
// of the ReLU formula): fl(π)·fl(1/(2π)) is exactly ½ (checked below), so θ/(2π) stays exactly
// 0, ¼ and ½ at θ = 0, π/2 and π; elsewhere the two differ by at most an ulp.
inline constexpr double kInv2Pi = 0.5 * std::numbers::inv_pi;
static_assert(std::numbers::pi * kInv2Pi == 0.5 && (std::numbers::pi / 2) * kInv2Pi == 0.25);

// kc, s, ρ and sn of one chunk (θ, where a formula needs it, is atan2_array(sn, rho)). Left
// uninitialized by its users: geometry() writes every entry < n before any is read, and
// zeroing the scratch was 30% of the instructions of a deep ReLU kernel (callgrind).
struct Geometry {
  double kc[kChunk], s[kChunk], rho[kChunk], sn[kChunk];
};

// std::min/std::max take references: inside `#pragma omp simd` GCC 12 then turns the locals
// into per-lane "simd arrays" and gives up vectorizing the loop (measured: geometry() ran
// scalar, 32 instructions per entry). These take values.
inline double clamp_value(double x, double lo, double hi) {
  const double y = x < lo ? lo : x;
  return hi < y ? hi : y;
}
inline double min_value(double a, double b) { return b < a ? b : a; }

// The geometry of entries i < n ≤ kChunk (pair_geometry.cpp).
void geometry(const double* q1, const double* q2, const double* k, std::size_t n, Geometry& g);

}  // namespace ntkit::activations
