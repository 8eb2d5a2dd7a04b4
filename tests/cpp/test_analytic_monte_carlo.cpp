// Every dual activation through a whole network against Monte Carlo of finite networks
// (issue 4's proof): the average empirical NNGP and NTK of 100 independently initialized
// networks of width 1024 (mlp_kernel.hpp) lies within 5% (relative Frobenius error) of the
// analytic kernels, for every activation of the library, in a network of two hidden layers
// with biases. The finite networks share no code with the analytic recursion: they evaluate
// φ and φ' pointwise (pointwise_activation.hpp) and differentiate layer by layer.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "ntkit/analytic.hpp"
#include "ntkit/mlp_kernel.hpp"
#include "ntkit/network.hpp"
#include "test_helpers.hpp"

namespace ntkit {
namespace {

// One entry per activation of network.hpp (the closed forms and the quadrature fallbacks).
const std::vector<std::string> kActivations = {
    "Relu",
    "LeakyRelu(alpha=0.1)",
    "ABRelu(a=-0.4, b=1.2)",
    "Abs",
    "Erf",
    "Erf(a=1.5, b=0.7, c=0.2)",
    "Sigmoid_like",
    "Gelu",
    "Sin(a=1.2, b=0.8, c=0.3)",
    "Cos",
    "Sign",
    "Step",
    "Identity",
    "Rbf(gamma=0.5)",
    "Gaussian",
    "Exp(a=0.8, b=0.4)",
    "Monomial(degree=2)",
    "RectifiedMonomial(degree=2)",
    "Polynomial(coef=[0.5, 1.0, -0.3])",
    "Tanh",
    "Softplus",
    "Elu",
    "Selu",
    "Silu",
};

TEST(AnalyticMonteCarlo, EveryActivationThroughAWholeNetwork) {
#ifdef NTKIT_SANITIZED_BUILD
  GTEST_SKIP() << "statistical test of 2400 wide networks: run in the optimized build";
#endif
  const RowMatrixD x = test::gaussian_matrix(5, 3, 41);
  constexpr int kSamples = 100, kWidth = 1024;
  for (const std::string& act : kActivations) {
    const std::string w = std::to_string(kWidth);
    const Network net = parse_network("Dense(" + w + ", W_std=1.3, b_std=0.2), " + act + ", Dense(" + w +
                                      ", W_std=1.1, b_std=0.1), " + act + ", Dense(1, b_std=0.1)");
    const AnalyticKernels exact = analytic_kernels(net, x);
    const EmpiricalKernels mc = monte_carlo_kernels(net, x, kSamples, 2024);
    const double nngp_error = (mc.nngp - exact.nngp).norm() / exact.nngp.norm();
    const double ntk_error = (mc.ntk - exact.ntk).norm() / exact.ntk.norm();
    EXPECT_LE(nngp_error, 0.05) << act;
    EXPECT_LE(ntk_error, 0.05) << act;
    std::printf("  [monte carlo, %d x width %d] %-36s NNGP %.4f  NTK %.4f\n", kSamples, kWidth, act.c_str(), nngp_error,
                ntk_error);
  }
}

// LayerNorm and a residual branch: the finite LayerNorm subtracts the feature mean and divides
// by √(var + eps); the limit's mean is 0.
TEST(AnalyticMonteCarlo, LayerNormAndResidualNetworks) {
#ifdef NTKIT_SANITIZED_BUILD
  GTEST_SKIP() << "statistical test of wide networks: run in the optimized build";
#endif
  const RowMatrixD x = test::gaussian_matrix(5, 3, 42);
  for (const char* arch :
       {"Dense(1024, W_std=1.3, b_std=0.2), LayerNorm, Relu, Dense(1024, W_std=1.1), LayerNorm(eps=0.1), Erf, "
        "Dense(1, b_std=0.1)",
        "Dense(1024, W_std=1.2, parameterization='standard'), Residual(Relu, Dense(1024, b_std=0.1, "
        "parameterization='standard')), LayerNorm, Gelu, Dense(1, parameterization='standard')"}) {
    const Network net = parse_network(arch);
    const AnalyticKernels exact = analytic_kernels(net, x);
    const EmpiricalKernels mc = monte_carlo_kernels(net, x, 100, 2025);
    const double nngp_error = (mc.nngp - exact.nngp).norm() / exact.nngp.norm();
    const double ntk_error = (mc.ntk - exact.ntk).norm() / exact.ntk.norm();
    EXPECT_LE(nngp_error, 0.05) << arch;
    EXPECT_LE(ntk_error, 0.05) << arch;
    std::printf("  [monte carlo, 100 x width 1024] NNGP %.4f  NTK %.4f  %s\n", nngp_error, ntk_error, arch);
  }
}

}  // namespace
}  // namespace ntkit
