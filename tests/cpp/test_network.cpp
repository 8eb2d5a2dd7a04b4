// Tests of the network description and its text parser: round trips, C++ builders vs text,
// defaults (neural-tangents' Dense: W_std=1, b_std=None, 'ntk'), case-insensitivity, every
// error class with its column and suggestion, Residual expansion, nesting and whitespace.
#include "ntkit/network.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "ntkit/error.hpp"

namespace ntkit {
namespace {

// The message parse_network throws for `text` ("" if it parses).
std::string parse_error(const std::string& text) {
  try {
    parse_network(text);
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

#define EXPECT_PARSE_ERROR(text, fragment)                                                  \
  do {                                                                                      \
    const std::string message_ = parse_error(text);                                         \
    EXPECT_NE(message_.find(fragment), std::string::npos)                                   \
        << "text: " << (text) << "\nmessage: " << message_ << "\nexpected: " << (fragment); \
  } while (0)

const std::vector<std::string> kArchitectures = {
    "Dense(1)",
    "Dense(512, W_std=1.5, b_std=0.05), Relu, Dense(1)",
    "Dense(1024, W_std=2, b_std=0.1, parameterization='standard'), Erf, Dense(10, W_std=1.2)",
    "Dense(256, b_std=0), LeakyRelu(alpha=0.1), Dense(256), ABRelu(a=-0.5, b=2), Dense(1)",
    "Dense(64), Erf(a=2, b=0.5, c=-1), Dense(64), Sigmoid_like, Dense(64), Gelu, Dense(1)",
    "Dense(64), Gelu(approximate=True), Dense(64), Sin(a=2, c=0.3), Dense(64), Cos(b=3), "
    "Dense(1)",
    "Dense(8), Sign, Dense(8), RectifiedMonomial(degree=0), Dense(8), Abs(do_stabilize=True), "
    "Dense(1)",
    "Dense(32), Rbf(gamma=0.25), Dense(32), Gaussian(b=-0.5), Dense(32), Exp(a=0.5, b=0.1), "
    "Dense(1)",
    "Dense(32), Monomial(degree=3), Dense(32), Polynomial(coef=[0, 1, 0.5, -0.25]), Dense(1)",
    "Dense(32), Tanh, Dense(32), Softplus, Dense(32), Elu(alpha=0.5), Dense(32), Selu, "
    "Dense(32), Silu, Dense(1)",
    "Dense(512), LayerNorm(eps=1e-05), Relu, Dense(512), LayerNorm, Relu, Dense(1)",
    "Dense(512), FanOut(2), parallel(serial(Relu, Dense(512), Relu, Dense(512)), Identity), "
    "FanInSum, Relu, Dense(1)",
    "Dense(128), FanOut(3), parallel(Dense(128), serial(Relu, Dense(128)), Identity), FanInSum, "
    "Dense(1)",
    "Dense(64), FanOut(2), parallel(serial(Relu, Dense(64), FanOut(2), parallel(serial(Relu, "
    "Dense(64)), Identity), FanInSum), Identity), FanInSum, Relu, Dense(1, W_std=0.5, "
    "b_std=1e-12)",
};

TEST(Network, RoundTripsRealisticArchitectures) {
  for (const std::string& text : kArchitectures) {
    SCOPED_TRACE(text);
    const Network network = parse_network(text);
    const std::string printed = to_string(network);
    EXPECT_EQ(printed, text);  // the list above is written in canonical form
    EXPECT_EQ(parse_network(printed), network);
  }
}

TEST(Network, BuildersEqualParsedText) {
  EXPECT_EQ(serial(Dense(512, 1.5, 0.05), Relu(), Dense(1)),
            parse_network("Dense(512, W_std=1.5, b_std=0.05), Relu, Dense(1)"));
  EXPECT_EQ(serial(Dense(512, 1.5, 0.05), Relu(), Dense(1)), parse_network("Dense(512, 1.5, 0.05), Relu(), Dense(1)"));
  EXPECT_EQ(serial(Dense(10, 2.0, std::nullopt, Parameterization::Standard), Erf(2, 0.5, -1), Dense(1)),
            parse_network("Dense(10, 2.0, None, parameterization='standard'), Erf(2, .5, -1), "
                          "Dense(1)"));
  EXPECT_EQ(serial(Dense(8), LeakyRelu(0.1), Dense(8), ABRelu(-1, 1), Dense(8), Abs(), Dense(1)),
            parse_network("Dense(8), LeakyRelu(0.1), Dense(8), ABRelu(-1, 1), Dense(8), Abs, "
                          "Dense(1)"));
  EXPECT_EQ(serial(Dense(8), Polynomial({1, 2, 3}), Dense(8), Monomial(2), Dense(8), RectifiedMonomial(1), Dense(1)),
            parse_network("Dense(8), Polynomial([1, 2, 3]), Dense(8), Monomial(2), Dense(8), "
                          "RectifiedMonomial(1), Dense(1)"));
  EXPECT_EQ(serial(Dense(8), Gelu(true), Dense(8), Sin(), Dense(8), Cos(1, 2), Dense(8), Rbf(0.5), Dense(8), Gaussian(),
                   Dense(8), Exp(), Dense(8), Sign(), Dense(8), Step(), Dense(8), Sigmoid_like(), Dense(8), Elu(), Dense(1)),
            parse_network("Dense(8), Gelu(True), Dense(8), Sin, Dense(8), Cos(1, 2), Dense(8), "
                          "Rbf(0.5), Dense(8), Gaussian, Dense(8), Exp, Dense(8), Sign, Dense(8), "
                          "Step, Dense(8), Sigmoid_like, Dense(8), Elu, Dense(1)"));
  EXPECT_EQ(serial(Dense(8), LayerNorm(1e-5), Tanh(), Dense(8), Softplus(), Dense(8), Selu(), Dense(8), Silu(), Dense(1)),
            parse_network("Dense(8), LayerNorm(eps=1e-5), Tanh, Dense(8), Softplus, Dense(8), "
                          "Selu, Dense(8), Swish, Dense(1)"));
  EXPECT_EQ(serial(Dense(4), FanOut(2), parallel(serial(Relu(), Dense(4)), Identity()), FanInSum(), Dense(1)),
            parse_network("Dense(4), FanOut(2), parallel(serial(Relu, Dense(4)), Identity), "
                          "FanInSum, Dense(1)"));
  EXPECT_NO_THROW(validate(serial(Dense(512, 1.5, 0.05), Relu(), Dense(1))));
}

TEST(Network, DefaultsFollowNeuralTangentsDense) {
  const Network network = parse_network("Dense(7)");
  ASSERT_EQ(network.layers.size(), 1u);
  const auto& dense = std::get<DenseLayer>(network.layers[0]);
  EXPECT_EQ(dense.out_dim, 7);
  EXPECT_EQ(dense.W_std, 1.0);
  EXPECT_FALSE(dense.b_std.has_value());  // b_std=None: no bias
  EXPECT_EQ(dense.parameterization, Parameterization::Ntk);
  EXPECT_EQ(std::get<DenseLayer>(Dense(7)), dense);
  // b_std=None spelled out, and b_std=0 is a different network (a bias that is zero).
  EXPECT_EQ(parse_network("Dense(7, b_std=None)"), network);
  EXPECT_NE(parse_network("Dense(7, b_std=0)"), network);
  EXPECT_EQ(parse_network("Dense(7, parameterization='ntk')"), network);
  EXPECT_EQ(parse_network("Dense(7, 1, None, 0, -1, 'ntk', (1, 1))"), network);
}

TEST(Network, ActivationDefaultsFollowNeuralTangents) {
  const auto activation = [](const std::string& text) {
    return std::get<ActivationLayer>(parse_network("Dense(1), " + text).layers[1]);
  };
  const ActivationLayer erf = activation("Erf");
  EXPECT_EQ(erf.a, 1.0);
  EXPECT_EQ(erf.b, 1.0);
  EXPECT_EQ(erf.c, 0.0);
  const ActivationLayer gaussian = activation("Gaussian");
  EXPECT_EQ(gaussian.a, 1.0);
  EXPECT_EQ(gaussian.b, -1.0);
  EXPECT_EQ(activation("Rbf").gamma, 1.0);
  EXPECT_EQ(activation("Elu").alpha, 1.0);
  EXPECT_FALSE(activation("Gelu").approximate);
  EXPECT_FALSE(activation("Relu").do_stabilize);
  const ActivationLayer step = activation("Step");
  EXPECT_EQ(step.kind, ActivationKind::RectifiedMonomial);
  EXPECT_EQ(step.degree, 0);
  EXPECT_EQ(std::get<LayerNormLayer>(parse_network("Dense(1), LayerNorm").layers[1]).eps, 1e-12);
}

TEST(Network, NamesAndKeywordsAreCaseInsensitive) {
  const Network expected = parse_network("Dense(512, W_std=1.5, b_std=0.05), Relu, Dense(1)");
  EXPECT_EQ(parse_network("dense(512, w_std=1.5, B_STD=0.05), RELU, DENSE(1)"), expected);
  EXPECT_EQ(parse_network("Dense(512, W_std=1.5, b_std=0.05), ReLU(), dense(1)"), expected);
  EXPECT_EQ(parse_network("Dense(4, parameterization=\"STANDARD\"), Erf, Dense(1)"),
            serial(Dense(4, 1, std::nullopt, Parameterization::Standard), Erf(), Dense(1)));
  EXPECT_EQ(parse_network("Dense(4), Gelu(approximate=true), Dense(4, b_std=none)"), serial(Dense(4), Gelu(true), Dense(4)));
  EXPECT_EQ(parse_network("Dense(4), FANOUT(2), Parallel(Identity, SERIAL(Dense(4))), "
                          "faninsum"),
            serial(Dense(4), FanOut(2), parallel(Identity(), Dense(4)), FanInSum()));
  EXPECT_EQ(parse_network("Dense(4), sigmoid_like, Dense(1)"), serial(Dense(4), Sigmoid_like(), Dense(1)));
}

TEST(Network, NumbersInEveryForm) {
  const auto b = [](const std::string& number) {
    return std::get<ActivationLayer>(parse_network("Dense(1), Exp(b=" + number + ")").layers[1]).b;
  };
  EXPECT_EQ(b("2"), 2.0);
  EXPECT_EQ(b("-2"), -2.0);
  EXPECT_EQ(b("+2"), 2.0);
  EXPECT_EQ(b("1.5"), 1.5);
  EXPECT_EQ(b(".5"), 0.5);
  EXPECT_EQ(b("-.5"), -0.5);
  EXPECT_EQ(b("5."), 5.0);
  EXPECT_EQ(b("1e-3"), 1e-3);
  EXPECT_EQ(b("2.5E+2"), 250.0);
  // Printed numbers read back exactly.
  const Network odd = serial(Dense(3, 0.1 + 0.2, 1.0 / 3.0), Exp(1e-300, -7.25e10), Dense(1));
  EXPECT_EQ(parse_network(to_string(odd)), odd);
}

TEST(Network, ResidualIsItsExpansion) {
  const Network shorthand = parse_network("Dense(512), Residual(Relu, Dense(512)), Relu, Dense(1)");
  const Network expansion = parse_network(
      "Dense(512), FanOut(2), parallel(serial(Relu, Dense(512)), Identity), FanInSum, Relu, "
      "Dense(1)");
  EXPECT_EQ(shorthand, expansion);
  EXPECT_EQ(serial(Dense(512), Residual(Relu(), Dense(512)), Relu(), Dense(1)), expansion);
  // The form, after a Dense so that the shortcut carries a Gaussian.
  EXPECT_EQ(
      parse_network("Dense(512), Residual(Dense(512), Relu, Dense(512)), Dense(1)"),
      serial(Dense(512), FanOut(2), parallel(serial(Dense(512), Relu(), Dense(512)), Identity()), FanInSum(), Dense(1)));
}

TEST(Network, SerialFlattensAndDeepNestingWorks) {
  EXPECT_EQ(parse_network("serial(Dense(4), serial(Relu, serial(Dense(4))), Relu), Dense(1)"),
            parse_network("Dense(4), Relu, Dense(4), Relu, Dense(1)"));
  // Ten nested residual blocks.
  std::string text = "Dense(16)";
  std::string close;
  Network built = serial(Dense(16));
  for (int depth = 0; depth < 10; ++depth) {
    text += ", Residual(Relu, Dense(16)";
    close += ")";
  }
  text += close + ", Dense(1)";
  Network inner = serial(Relu(), Dense(16));
  for (int depth = 1; depth < 10; ++depth) inner = serial(Relu(), Dense(16), Residual(inner));
  built = serial(Dense(16), Residual(inner), Dense(1));
  const Network parsed = parse_network(text);
  EXPECT_EQ(parsed, built);
  EXPECT_EQ(parse_network(to_string(parsed)), parsed);
}

TEST(Network, WhitespaceAndNewlines) {
  const Network expected = parse_network("Dense(512, W_std=1.5, b_std=0.05), Relu, Dense(1)");
  EXPECT_EQ(parse_network("  Dense( 512 ,W_std = 1.5,\tb_std=0.05 ) ,\n  Relu ,\n\n  Dense(1)\n"), expected);
  EXPECT_EQ(parse_network("Dense(512,\n      W_std=1.5,\n      b_std=0.05,\n),\nRelu(),\n"
                          "Dense(1,)"),
            expected);  // trailing commas inside (...) are Python's
}

// ---- Errors --------------------------------------------------------------------------------

TEST(NetworkErrors, UnknownLayerPointsAtColumnAndSuggests) {
  const std::string message = parse_error("Dense(512), Relo, Dense(1)");
  EXPECT_NE(message.find("unknown layer 'Relo' at column 13; did you mean 'Relu'?"), std::string::npos) << message;
  EXPECT_NE(message.find("\n  Dense(512), Relo, Dense(1)\n              ^"), std::string::npos) << message;
  EXPECT_PARSE_ERROR("Dense(4), leakyrelu(0.1), Dens(1)",
                     "unknown layer 'Dens' at column 27; "
                     "did you mean 'Dense'?");
  EXPECT_PARSE_ERROR("Dense(4), Sigmoid, Dense(1)", "did you mean 'Sigmoid_like'?");
  EXPECT_PARSE_ERROR("Dense(4), Reluu, Dense(1)", "did you mean 'Relu'?");
  EXPECT_PARSE_ERROR("Dense(4), MaxPool((2, 2)), Dense(1)", "unknown layer 'MaxPool' at column 11");
  EXPECT_PARSE_ERROR("Dense(4), MaxPool((2, 2)), Dense(1)", "valid:");
  EXPECT_PARSE_ERROR("Conv(3), Flatten, Dense(1)",
                     "Conv at column 1 needs the argument 'filter_shape', e.g. Conv(filter_shape=(3, 3))");
}

TEST(NetworkErrors, ColumnsOnLaterLines) {
  EXPECT_PARSE_ERROR("Dense(512),\n  Relo,\nDense(1)", "unknown layer 'Relo' at line 2, column 3; did you mean 'Relu'?");
  EXPECT_PARSE_ERROR("Dense(512),\n  Relo,\nDense(1)", "\n    Relo,\n    ^");
}

TEST(NetworkErrors, UnknownArgumentSuggestsAndListsValidOnes) {
  EXPECT_PARSE_ERROR("Dense(512, W_sdt=1.5), Relu, Dense(1)",
                     "unknown argument 'W_sdt' of Dense at column 12; did you mean 'W_std'?");
  EXPECT_PARSE_ERROR("Dense(512, W_sdt=1.5), Relu, Dense(1)",
                     "out_dim, W_std, b_std, batch_axis, channel_axis, parameterization, s");
  EXPECT_PARSE_ERROR("Dense(4), LeakyRelu(slope=0.1), Dense(1)", "unknown argument 'slope' of LeakyRelu at column 21");
  EXPECT_PARSE_ERROR("Dense(4), Relu(alpha=0.1), Dense(1)", "valid: do_stabilize");
  EXPECT_PARSE_ERROR("Dense(4), Tanh(x=1), Dense(1)", "Tanh takes no arguments");
}

TEST(NetworkErrors, WrongTypesAndValues) {
  EXPECT_PARSE_ERROR("Dense(0)", "Dense: out_dim must be a positive integer, got 0 at column 7");
  EXPECT_PARSE_ERROR("Dense(-3)", "out_dim must be a positive integer, got -3 at column 7");
  EXPECT_PARSE_ERROR("Dense(1.5)", "Dense: out_dim must be an integer, got 1.5 at column 7");
  EXPECT_PARSE_ERROR("Dense('wide')", "out_dim must be an integer, got 'wide'");
  EXPECT_PARSE_ERROR("Dense(4, W_std=-1)", "W_std must be a finite number ≥ 0, got -1 at column 16");
  EXPECT_PARSE_ERROR("Dense(4, W_std=None)", "W_std must be a number, got None at column 16");
  EXPECT_PARSE_ERROR("Dense(4, b_std=-0.1)", "b_std must be a finite number ≥ 0, or None");
  EXPECT_PARSE_ERROR("Dense(4, parameterization='mup')",
                     "parameterization must be 'ntk' or 'standard', got 'mup' at column 27");
  EXPECT_PARSE_ERROR("Dense(4, parameterization=1)", "'ntk' or 'standard', got 1");
  EXPECT_PARSE_ERROR("Dense(4, s=(2, 1))", "s must be (1, 1)");
  EXPECT_PARSE_ERROR("Dense(4, batch_axis=1)", "batch_axis must be 0");
  EXPECT_PARSE_ERROR("Dense(4), Monomial(-1), Dense(1)", "Monomial: degree must be an integer from 0 to 64");
  EXPECT_PARSE_ERROR("Dense(4), Monomial(-1), Dense(1)", "got -1 at column 20");
  EXPECT_PARSE_ERROR("Dense(4), Monomial(2.5), Dense(1)", "degree must be an integer, got 2.5");
  EXPECT_PARSE_ERROR("Dense(4), Polynomial([]), Dense(1)", "Polynomial: coef must be a non-empty list");
  EXPECT_PARSE_ERROR("Dense(4), Polynomial(coef=3), Dense(1)", "coef must be a list of numbers");
  EXPECT_PARSE_ERROR("Dense(4), Polynomial([1, 'x']), Dense(1)", "a list of numbers, got 'x'");
  EXPECT_PARSE_ERROR("Dense(4), LeakyRelu(alpha='big'), Dense(1)", "LeakyRelu: alpha must be a number, got 'big'");
  EXPECT_PARSE_ERROR("Dense(4), LeakyRelu, Dense(1)", "LeakyRelu at column 11 needs the argument 'alpha'");
  EXPECT_PARSE_ERROR("Dense(4), Gelu(approximate=1), Dense(1)", "must be True or False, got 1");
  EXPECT_PARSE_ERROR("Dense(4), Rbf(gamma=-1), Dense(1)", "gamma must be ≥ 0");
  EXPECT_PARSE_ERROR("Dense(4), LayerNorm(eps=-1), Dense(1)", "eps must be a finite number ≥ 0");
  EXPECT_PARSE_ERROR("Dense(4), LayerNorm(axis=0), Dense(1)", "axis must be -1");
  EXPECT_PARSE_ERROR("Dense(4), FanOut(0), FanInSum", "FanOut: num must be an integer from 1 to 64");
  EXPECT_PARSE_ERROR("Dense(4), Exp(b=1e999), Dense(1)", "out of range");
  EXPECT_PARSE_ERROR("Dense(4), Relu(Dense(3)), Dense(1)", "got the layer 'Dense'");
  // The builders check the same domains.
  EXPECT_THROW(Dense(0), Error);
  EXPECT_THROW(Dense(4, -1.0), Error);
  EXPECT_THROW(Dense(4, 1.0, -0.5), Error);
  EXPECT_THROW(Monomial(-2), Error);
  EXPECT_THROW(Polynomial({}), Error);
  EXPECT_THROW(LeakyRelu(std::numeric_limits<double>::infinity()), Error);
}

// Bounds that keep tiny text from asking for unbounded work or stack (issue 13: 30,000 '['
// crashed the parser, RectifiedMonomial(2147483647) ran for minutes, FanOut(2147483647) took
// 4.2 GB, a 30,000-coefficient Polynomial 1.9 GB).
TEST(NetworkErrors, DeepNestingIsAnErrorNotACrash) {
  const auto nested = [](const std::string& open, const std::string& inner, const std::string& close, int depth) {
    std::string text;
    for (int i = 0; i < depth; ++i) text += open;
    text += inner;
    for (int i = 0; i < depth; ++i) text += close;
    return text;
  };
  EXPECT_PARSE_ERROR("Dense(4), Polynomial(coef=" + nested("[", "1", "]", 30000) + "), Dense(1)",
                     "brackets nested deeper than 64 levels");
  EXPECT_PARSE_ERROR("Dense(4), " + nested("serial(", "Relu", ")", 15000) + ", Dense(1)",
                     "brackets nested deeper than 64 levels at column");
  EXPECT_PARSE_ERROR("Dense(4), FanOut(2), " + nested("parallel(", "Identity", ")", 12000), "nested deeper than 64");
  EXPECT_PARSE_ERROR("Dense(4), " + nested("Residual(Relu, Dense(4), ", "Identity", ")", 10000), "nested deeper than 64");
  // 63 levels of brackets (one is Dense's) still parse.
  const Network ok = parse_network("Dense(4), " + nested("serial(", "Relu, Dense(4)", ")", 63) + ", Dense(1)");
  EXPECT_EQ(ok, parse_network("Dense(4), Relu, Dense(4), Dense(1)"));
  // A network built in C++ is held to the same depth by validate().
  Network inner = serial(Relu(), Dense(4));
  for (int depth = 0; depth < 70; ++depth) inner = serial(Dense(4), Residual(inner));
  EXPECT_THROW(validate(serial(Dense(4), Residual(inner), Dense(1))), Error);
}

TEST(NetworkErrors, UnboundedDegreesAndFanOutAreErrors) {
  EXPECT_PARSE_ERROR("Dense(4), RectifiedMonomial(2147483647), Dense(1)",
                     "RectifiedMonomial: degree must be an integer from 0 to 64");
  EXPECT_PARSE_ERROR("Dense(4), Monomial(1000), Dense(1)", "got 1000");
  EXPECT_PARSE_ERROR("Dense(4), FanOut(2147483647), FanInSum, Dense(1)",
                     "FanOut: num must be an integer from 1 to 64, got 2147483647");
  std::string coefficients = "1";
  for (int i = 0; i < 30000; ++i) coefficients += ", 0.5";
  EXPECT_PARSE_ERROR("Dense(4), Polynomial([" + coefficients + "]), Dense(1)",
                     "Polynomial: coef must be at most 65 coefficients (degree ≤ 64), got 30001");
  // The largest allowed values are accepted.
  EXPECT_NO_THROW(
      parse_network("Dense(4), Monomial(64), Dense(4), RectifiedMonomial(64), "
                    "Dense(4), FanOut(64), FanInSum, Dense(1)"));
  EXPECT_THROW(Monomial(65), Error);
}

TEST(NetworkErrors, TooManyPositionalAndDuplicateKeywords) {
  EXPECT_PARSE_ERROR("Dense(4), Erf(1, 2, 3, 4), Dense(1)",
                     "too many positional arguments for Erf at column 24: it takes 3 (a, b, c)");
  EXPECT_PARSE_ERROR("Dense(4), Relu(True, 2), Dense(1)", "too many positional arguments for Relu");
  EXPECT_PARSE_ERROR("Dense(4), Sign(1), Dense(1)", "Sign takes no arguments");
  EXPECT_PARSE_ERROR("Dense(4, W_std=1, w_std=2)", "argument 'W_std' of Dense given twice at column 19");
  EXPECT_PARSE_ERROR("Dense(4, 1.5, W_std=2)", "argument 'W_std' of Dense given twice at column 15");
  EXPECT_PARSE_ERROR("Dense(out_dim=4, 1.5)", "positional argument at column 18 follows a keyword argument");
}

TEST(NetworkErrors, SyntaxErrorsHaveColumns) {
  EXPECT_PARSE_ERROR("Dense(512, W_std=1.5, b_std=0.1", "unbalanced '(' at column 6: missing ')'");
  EXPECT_PARSE_ERROR("Dense(512, W_std=1.5, Relu, Dense(1)", "positional argument at column 23");
  EXPECT_PARSE_ERROR("Dense(512)), Relu", "unbalanced ')' at column 11");
  EXPECT_PARSE_ERROR("Dense(512), Relu,", "trailing comma at column 17");
  EXPECT_PARSE_ERROR("Dense(512), Relu, ", "trailing comma at column 17");
  EXPECT_PARSE_ERROR("Dense(512) Relu, Dense(1)", "missing comma at column 12 before 'Relu'");
  EXPECT_PARSE_ERROR("Dense(512 2)", "missing comma at column 11");
  EXPECT_PARSE_ERROR("Dense(4, parameterization='ntk)", "unterminated string at column 27");
  EXPECT_PARSE_ERROR("Dense(4), Polynomial([1, 2), Dense(1)", "mismatched ')' at column 27");
  EXPECT_PARSE_ERROR("Dense(4), Polynomial([1, 2", "unbalanced '[' at column 22: missing ']'");
  EXPECT_PARSE_ERROR(", Dense(1)", "expected a layer name at column 1, got ','");
  EXPECT_PARSE_ERROR("Dense(1), , Relu", "expected a layer name at column 11");
  EXPECT_PARSE_ERROR("Dense(4) ; Relu", "unexpected character ';' at column 10");
  EXPECT_PARSE_ERROR("Dense(4, W_std=1.5.2)", "at column 19");
  EXPECT_PARSE_ERROR("Dense(4, W_std=1e)", "an exponent needs digits");
  EXPECT_PARSE_ERROR("Dense(4, W_std=)", "expected a value at column 16, got ')'");
}

TEST(NetworkErrors, StructuralErrors) {
  EXPECT_PARSE_ERROR("", "empty network");
  EXPECT_PARSE_ERROR("   \n ", "empty network");
  EXPECT_PARSE_ERROR("Relu, Dense(1)", "missing Dense before an activation: 'Relu' at column 1");
  EXPECT_PARSE_ERROR("Dense(4), Relu, Erf, Dense(1)", "'Erf' at column 17 acts on a non-Gaussian input");
  EXPECT_PARSE_ERROR("LayerNorm, Dense(1)", "missing Dense before an activation: 'LayerNorm'");
  EXPECT_PARSE_ERROR("Identity", "no Dense layer");
  EXPECT_PARSE_ERROR("Dense(4), FanInSum", "FanInSum at column 11 has nothing to merge");
  EXPECT_PARSE_ERROR("Dense(4), parallel(Relu, Identity), FanInSum, Dense(1)",
                     "parallel(...) at column 11 has 2 branches but only one input: put "
                     "FanOut(2) before it");
  EXPECT_PARSE_ERROR("Dense(4), FanOut(3), parallel(Relu, Identity), FanInSum, Dense(1)",
                     "has 2 branches but the preceding FanOut(3) makes 3 inputs");
  EXPECT_PARSE_ERROR("Dense(4), FanOut(2), Dense(1)", "'Dense' at column 22 gets 2 inputs from FanOut(2)");
  EXPECT_PARSE_ERROR("Dense(4), FanOut(2), parallel(Relu, Identity)", "FanOut(2) at column 11 is never merged");
  EXPECT_PARSE_ERROR("Dense(4), FanOut(2), parallel(serial(Dense(4), Relo), Identity), FanInSum",
                     "unknown layer 'Relo' at column 48");
  EXPECT_PARSE_ERROR("Dense(4), FanOut(2), parallel(serial(Relu, Relu), Identity), FanInSum",
                     "'Relu' at column 44 acts on a non-Gaussian input");
  // A residual block on the raw input: the shortcut is not Gaussian, so a later activation
  // has no closed-form kernel (neural-tangents raises too).
  EXPECT_PARSE_ERROR("Residual(Dense(4), Relu, Dense(4)), Relu, Dense(1)",
                     "'Relu' at column 37 acts on a non-Gaussian input");
  EXPECT_NO_THROW(parse_network("Residual(Dense(4), Relu, Dense(4)), Dense(1)"));
  // validate() on built networks names the layer by position.
  try {
    validate(serial(Relu(), Dense(1)));
    ADD_FAILURE() << "validate accepted an activation before any Dense";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what())
                  .find("missing Dense before an activation: 'Relu' "
                        "(layer 1)"),
              std::string::npos)
        << error.what();
  }
  try {
    validate(serial(Dense(4), FanOut(2), parallel(serial(Dense(4), Sign(), Sign()), Identity()), FanInSum()));
    ADD_FAILURE() << "validate accepted Sign after Sign";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("(layer 3, branch 1, layer 3)"), std::string::npos) << error.what();
  }
  EXPECT_THROW(validate(Network{}), Error);
}

TEST(Network, ActivationEqualityIgnoresUnusedFields) {
  ActivationLayer relu = std::get<ActivationLayer>(Relu());
  ActivationLayer other = relu;
  other.gamma = 42;  // not a Relu parameter
  EXPECT_EQ(relu, other);
  other.do_stabilize = true;
  EXPECT_NE(relu, other);
  EXPECT_NE(Layer(Sin()), Layer(Cos()));
  EXPECT_NE(Layer(Erf(1, 2)), Layer(Erf(1, 3)));
}

TEST(Network, ActivationTableCoversEveryKind) {
  const auto& table = activation_table();
  ASSERT_EQ(table.size(), static_cast<std::size_t>(ActivationKind::Hermite) + 1);
  for (std::size_t i = 0; i < table.size(); ++i) {
    EXPECT_EQ(static_cast<std::size_t>(table[i].kind), i);
    // Every activation parses from its own name (with its required arguments).
    std::string text = std::string("Dense(2), ") + table[i].name;
    std::string arguments;
    for (const ActivationParameter& parameter : table[i].parameters) {
      if (parameter.default_value) continue;
      arguments += (arguments.empty() ? "" : ", ") + std::string(parameter.name) +
                   (parameter.field == ActivationField::Coef ? "=[1]" : "=1");
    }
    if (!arguments.empty()) text += "(" + arguments + ")";
    SCOPED_TRACE(text);
    const Network network = parse_network(text);
    EXPECT_EQ(std::get<ActivationLayer>(network.layers[1]).kind, table[i].kind);
    EXPECT_EQ(parse_network(to_string(network)), network);
  }
}

}  // namespace
}  // namespace ntkit
