// The lecture's two-layer network is a special case of the general engine (docs/mathematics.md
// §2, §5): its infinite-width NTK equals analytic_kernels of Dense(m, W_std=√d, b_std=None) → σ
// → Dense(1) under the 'ntk' parameterization, K^b the NNGP, for the lecture's four activations
// and for other activations of the catalogue; and its σ, σ' are the catalogue's.
#include <gtest/gtest.h>

#include <cmath>
#include <variant>

#include "ntkit/activation.hpp"
#include "ntkit/analytic.hpp"
#include "ntkit/error.hpp"
#include "ntkit/network.hpp"
#include "ntkit/pointwise_activation.hpp"
#include "ntkit/two_layer_kernel.hpp"
#include "ntkit/two_layer_net.hpp"
#include "test_helpers.hpp"

namespace ntkit {
namespace {

using test::gaussian_matrix;
using test::max_relative_error;

struct Case {
  Activation activation;
  Layer layer;  // the same activation in network text
};

std::vector<Case> cases() {
  return {{Activation::Relu, Relu()},         {Activation::Erf, Erf()},
          {Activation::Tanh, Tanh()},         {Activation::Identity, Monomial(1)},
          {parse_activation("Gelu"), Gelu()}, {parse_activation("LeakyRelu(0.2)"), LeakyRelu(0.2)}};
}

TEST(TwoLayerVsGeneral, InfiniteWidthNtkIsTheEnginesOfTheEquivalentNetwork) {
  const Eigen::Index d = 5;
  RowMatrixD x = gaussian_matrix(23, d, 1), y = gaussian_matrix(9, d, 2);
  x.row(4) = x.row(1);   // ρ = 1
  x.row(6) = -x.row(2);  // ρ = −1
  x.row(8).setZero();    // zero norm
  const double w = std::sqrt(static_cast<double>(d));
  for (const Case& c : cases()) {
    SCOPED_TRACE(activation_name(c.activation));
    // The engine starts from K⁰ = x·x'/d and multiplies by W_std² = d: the same kernel up to
    // the rounding of those two operations.
    const Network net = serial(Dense(1024, w), c.layer, Dense(1));
    const AnalyticKernels sym = analytic_kernels(net, x);
    const NtkParts parts = two_layer_ntk(c.activation, x);
    EXPECT_LT(max_relative_error(sym.ntk, parts.total()), 1e-13);
    EXPECT_LT(max_relative_error(sym.nngp, parts.b), 1e-13);
    const AnalyticKernels cross = analytic_kernels(net, y, x);
    const NtkParts cross_parts = two_layer_ntk(c.activation, y, x);
    EXPECT_LT(max_relative_error(cross.ntk, cross_parts.total()), 1e-13);
    EXPECT_LT(max_relative_error(cross.nngp, cross_parts.b), 1e-13);
  }
}

TEST(TwoLayerVsGeneral, SigmaAndItsDerivativeAreTheCatalogues) {
  const RowMatrixD z = gaussian_matrix(300, 7, 3) * 2.0;
  for (const Case& c : cases()) {
    SCOPED_TRACE(activation_name(c.activation));
    const PointwiseActivation sigma(std::get<ActivationLayer>(c.layer));
    RowMatrixD s, ds;
    activate(c.activation, z, s);
    activate_derivative(c.activation, z, ds);
    for (Eigen::Index i = 0; i < z.size(); ++i) {
      EXPECT_EQ(s.data()[i], sigma.value(z.data()[i]));
      EXPECT_EQ(ds.data()[i], sigma.derivative(z.data()[i]));
    }
  }
  // The lecture's four are exactly their formulas.
  for (const double v : {-2.5, -1e-300, 0.0, 0.7, 3.0}) {
    RowMatrixD one(1, 1), out;
    one(0, 0) = v;
    activate(Activation::Relu, one, out);
    EXPECT_EQ(out(0, 0), v > 0 ? v : 0.0);
    activate(Activation::Erf, one, out);
    EXPECT_EQ(out(0, 0), std::erf(v));
    activate(Activation::Tanh, one, out);
    EXPECT_EQ(out(0, 0), std::tanh(v));
    activate(Activation::Identity, one, out);
    EXPECT_EQ(out(0, 0), v);
    activate_derivative(Activation::Identity, one, out);
    EXPECT_EQ(out(0, 0), 1.0);
  }
}

TEST(TwoLayerVsGeneral, NamesOfTheLectureAndOfTheCatalogue) {
  EXPECT_EQ(parse_activation("ReLU"), Activation::Relu);
  EXPECT_EQ(parse_activation("linear"), Activation::Identity);
  EXPECT_EQ(parse_activation("identity"), Activation::Identity);
  EXPECT_EQ(parse_activation("Erf(a=1)"), Activation::Erf);
  EXPECT_STREQ(activation_name(parse_activation("Erf(a=1, b=1, c=0)")), "erf");
  EXPECT_STREQ(activation_name(Activation::Identity), "identity");
  EXPECT_STREQ(activation_name(parse_activation("gelu")), "Gelu");
  // The name round-trips (Python pickles the network by it).
  const Activation leaky = parse_activation("LeakyRelu(0.2)");
  EXPECT_EQ(parse_activation(activation_name(leaky)), leaky);
  EXPECT_THROW(parse_activation("softsign"), Error);
  EXPECT_THROW(parse_activation("Dense(3)"), Error);
  EXPECT_THROW(parse_activation("Relu, Relu"), Error);
}

TEST(TwoLayerVsGeneral, FiniteNetworkOfACatalogueActivation) {
  const RowMatrixD x = gaussian_matrix(12, 3, 4);
  VectorD y(12);
  for (Eigen::Index i = 0; i < 12; ++i) y[i] = std::sin(x(i, 0));
  TwoLayerNet net(3, 64, parse_activation("Gelu"), 5);
  const VectorD before = net.forward(x) - y;
  const TwoLayerNet::Gradient g = net.loss_gradient(x, y);
  EXPECT_TRUE(g.a.allFinite() && g.b.allFinite());
  EXPECT_STREQ(activation_name(net.activation()), "Gelu");
  EXPECT_GT(before.norm(), 0.0);
}

}  // namespace
}  // namespace ntkit
