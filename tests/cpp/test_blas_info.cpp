// blas_info: what the BLAS runs on, and the rule that replaces generic OpenBLAS kernels
// (ntkit/blas_info.hpp).
#include <cstdlib>
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

TEST(BlasInfo, BestFamilyFollowsTheCpusInstructions) {
  const std::string vectors = blas_info().cpu_vectors, best = detail::best_openblas_core_for_this_cpu();
  EXPECT_EQ(best, vectors == "AVX-512" ? "SkylakeX" : vectors == "AVX2" ? "Haswell" : "");
}

}  // namespace
}  // namespace ntkit
