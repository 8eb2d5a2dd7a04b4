// Which BLAS ntkit runs on, and whether it uses the kernels this CPU is best at.
//
// Debian 12's OpenBLAS (0.3.21) picks its kernels by CPU model; on a model newer than itself
// it falls back to its generic "Prescott" kernels (SSE3), 4x slower in GEMM than its AVX-512
// ones on such a Xeon. OpenBLAS reads the kernel choice (OPENBLAS_CORETYPE) once, when it
// loads, so a process cannot change its own: the tool re-executes itself with the variable set
// (apps/ntkit/main.cpp) and the Python module asks a child process before it loads
// (python/ntkit/_blas.py). A user's own OPENBLAS_CORETYPE is always kept.
#pragma once

#include <string>

namespace ntkit {

struct BlasInfo {
  std::string library;      ///< "OpenBLAS (Debian)" or "OpenBLAS (scipy-openblas32)"
  std::string version;      ///< e.g. "0.3.21"
  std::string config;       ///< the library's own build description
  std::string core;         ///< the kernels it runs, e.g. "SkylakeX", "Haswell", "Prescott"
  int threads = 0;          ///< its thread count (OPENBLAS_NUM_THREADS, or the cores)
  std::string cpu;          ///< the CPU's model name
  std::string cpu_vectors;  ///< the widest vector instructions the CPU has: "AVX-512", "AVX2" or "SSE"
  /// True when the library runs kernels older than the CPU's vector instructions allow
  /// (e.g. Prescott on an AVX-512 CPU): slow, and worth a warning.
  bool generic_core = false;
  /// Set when ntkit chose `core` because the library's own choice was generic: what it chose.
  std::string replaced_core;
};

/// The BLAS as this process runs it.
BlasInfo blas_info();

/// A human-readable summary of blas_info() (several lines, each "name: value"), with a warning
/// line and its fix when the kernels are generic.
std::string describe(const BlasInfo& info);

namespace detail {

/// The OpenBLAS kernel family this CPU runs best ("SkylakeX" with AVX-512 F/BW/DQ/VL,
/// "Haswell" with AVX2 and FMA), or "" for neither.
std::string best_openblas_core_for_this_cpu();

/// Whether OpenBLAS's kernel family `core` uses AVX2 or AVX-512 (case-insensitive).
bool openblas_core_is_vectorized(const std::string& core);

/// The rule: the OPENBLAS_CORETYPE to request when the library loaded `loaded_core` on a CPU
/// whose best family is `best` (see best_openblas_core_for_this_cpu), with the user's own
/// OPENBLAS_CORETYPE `user_setting` (nullptr: unset); "" for nothing to replace (vectorized
/// kernels already, a CPU without AVX2, or a user's setting, which is always kept).
std::string core_to_request(const char* user_setting, const std::string& loaded_core, const std::string& best);

/// The kernel family the loaded OpenBLAS runs (its own name for it).
std::string loaded_openblas_core();

/// core_to_request for this process: its environment, its loaded OpenBLAS and its CPU.
std::string openblas_core_to_request();

}  // namespace detail
}  // namespace ntkit
