#include "ntkit/blas_info.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <strings.h>

#include "blas_api.hpp"

namespace ntkit {
namespace {

std::string cpu_model_name() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  }
  return "unknown";
}

bool cpu_has_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vl");
}

bool cpu_has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

// "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ..." -> "0.3.21".
std::string version_in(const std::string& config) {
  std::istringstream words(config);
  std::string word;
  while (words >> word)
    if (!word.empty() && std::isdigit(static_cast<unsigned char>(word[0]))) return word;
  return "unknown";
}

}  // namespace

namespace detail {

std::string best_openblas_core_for_this_cpu() {
  if (cpu_has_avx512()) return "SkylakeX";
  if (cpu_has_avx2()) return "Haswell";
  return "";
}

bool openblas_core_is_vectorized(const std::string& core) {
  // OpenBLAS's kernel families with AVX2 or AVX-512 code (x86-64). Every other name (Prescott,
  // Core2, Nehalem, Sandybridge, Barcelona, ...) runs SSE or AVX1 kernels.
  static const char* const vectorized[] = {"haswell", "zen", "skylakex", "cooperlake", "sapphirerapids", "excavator"};
  return std::any_of(std::begin(vectorized), std::end(vectorized),
                     [&](const char* v) { return ::strcasecmp(core.c_str(), v) == 0; });
}

std::string core_to_request(const char* user_setting, const std::string& loaded_core, const std::string& best) {
  if (user_setting != nullptr || best.empty() || openblas_core_is_vectorized(loaded_core)) return "";
  return best;
}

std::string loaded_openblas_core() { return openblas_get_corename(); }

std::string openblas_core_to_request() {
  return core_to_request(std::getenv("OPENBLAS_CORETYPE"), openblas_get_corename(), best_openblas_core_for_this_cpu());
}

}  // namespace detail

BlasInfo blas_info() {
  BlasInfo info;
#if defined(NTKIT_BLAS_SCIPY_OPENBLAS)
  info.library = "OpenBLAS (scipy-openblas32)";
#else
  info.library = "OpenBLAS (Debian)";
#endif
  info.config = openblas_get_config();
  while (!info.config.empty() && info.config.back() == ' ') info.config.pop_back();
  info.version = version_in(info.config);
  info.core = detail::loaded_openblas_core();
  info.threads = openblas_get_num_threads();
  info.cpu = cpu_model_name();
  info.cpu_vectors = cpu_has_avx512() ? "AVX-512" : cpu_has_avx2() ? "AVX2" : "SSE";
  // Generic: the rule would replace these kernels if the user had not chosen them.
  info.generic_core = !detail::core_to_request(nullptr, info.core, detail::best_openblas_core_for_this_cpu()).empty();
  if (const char* replaced = std::getenv("NTKIT_REPLACED_OPENBLAS_CORE")) info.replaced_core = replaced;
  return info;
}

std::string describe(const BlasInfo& info) {
  std::ostringstream out;
  out << "blas: " << info.library << " " << info.version << "\n"
      << "blas core: " << info.core;
  if (!info.replaced_core.empty())
    out << " (chosen by ntkit: the library's own choice for this CPU was its generic " << info.replaced_core << " kernels)";
  out << "\n"
      << "blas threads: " << info.threads << "\n"
      << "blas build: " << info.config << "\n"
      << "cpu: " << info.cpu << " (" << info.cpu_vectors << ")\n";
  if (info.generic_core) {
    const char* requested = std::getenv("OPENBLAS_CORETYPE");
    const std::string best = detail::best_openblas_core_for_this_cpu();
    out << "warning: the BLAS runs its generic " << info.core << " kernels on a CPU with " << info.cpu_vectors
        << ", several times slower than its " << best << " kernels; ";
    if (requested != nullptr)
      out << "OPENBLAS_CORETYPE=" << requested << " is set in the environment: unset it, or set it to " << best << "\n";
    else out << "set OPENBLAS_CORETYPE=" << best << " in the environment\n";
  }
  return out.str();
}

}  // namespace ntkit
