// blas_info: what the BLAS runs on, and the rule that replaces generic OpenBLAS kernels
// (ntkit/blas_info.hpp).
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "ntkit/blas_info.hpp"

namespace ntkit {
namespace {

TEST(BlasCoreRule, ReplacesGenericKernelsByTheCpusBestFamily) {
  // The case: Debian's 0.3.21 on a Xeon newer than itself loads Prescott.
  EXPECT_EQ(detail::core_to_request(nullptr, "Prescott", "SkylakeX"), "SkylakeX");
  EXPECT_EQ(detail::core_to_request(nullptr, "Nehalem", "Haswell"), "Haswell");
  EXPECT_EQ(detail::core_to_request(nullptr, "Sandybridge", "Haswell"), "Haswell");  // AVX1 only
}

TEST(BlasCoreRule, KeepsVectorizedKernelsAUsersSettingAndOldCpus) {
  for (const char* vectorized : {"SkylakeX", "Haswell", "Zen", "Cooperlake", "SapphireRapids", "skylakex"})
    EXPECT_EQ(detail::core_to_request(nullptr, vectorized, "SkylakeX"), "") << vectorized;
  EXPECT_EQ(detail::core_to_request("Prescott", "Prescott", "SkylakeX"), "");  // the user's choice stands
  EXPECT_EQ(detail::core_to_request(nullptr, "Prescott", ""), "");             // no AVX2: nothing better
}

TEST(BlasInfo, DescribesTheLoadedLibrary) {
  const BlasInfo info = blas_info();
  EXPECT_NE(info.library.find("OpenBLAS"), std::string::npos);
  EXPECT_NE(info.config.find(info.version), std::string::npos) << info.config;
  EXPECT_FALSE(info.core.empty());
  EXPECT_GE(info.threads, 1);
  EXPECT_TRUE(info.cpu_vectors == "AVX-512" || info.cpu_vectors == "AVX2" || info.cpu_vectors == "SSE");
  // generic_core is exactly "the CPU has a better family than the kernels loaded".
  EXPECT_EQ(info.generic_core,
            !detail::best_openblas_core_for_this_cpu().empty() && !detail::openblas_core_is_vectorized(info.core));
  const std::string text = describe(info);
  EXPECT_NE(text.find("blas core: " + info.core), std::string::npos) << text;
  EXPECT_EQ(text.find("warning") != std::string::npos, info.generic_core) << text;
}

// Against the kernel's own list of the CPU's instruction sets (/proc/cpuinfo), not the
// compiler's cpuid query that the library uses.
TEST(BlasInfo, BestFamilyFollowsTheCpusInstructions) {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  std::set<std::string> flags;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    for (std::string w; words >> w;) flags.insert(w);
    break;
  }
  if (flags.empty()) GTEST_SKIP() << "no /proc/cpuinfo flags";
  const auto has = [&](std::initializer_list<const char*> names) {
    for (const char* n : names)
      if (!flags.count(n)) return false;
    return true;
  };
  const std::string expected = has({"avx512f", "avx512bw", "avx512dq", "avx512vl"}) ? "SkylakeX"
                               : has({"avx2", "fma"})                               ? "Haswell"
                                                                                    : "";
  EXPECT_EQ(detail::best_openblas_core_for_this_cpu(), expected);
  EXPECT_EQ(blas_info().cpu_vectors, expected == "SkylakeX" ? "AVX-512" : expected == "Haswell" ? "AVX2" : "SSE");
}

}  // namespace
}  // namespace ntkit
