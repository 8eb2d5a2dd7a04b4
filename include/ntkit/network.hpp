// A network is a value: a list of layers with neural-tangents' (stax) names, arguments and
// defaults, built in C++ or parsed from text (docs/mathematics.md §5, DESIGN "Architecture").
//
//   Network net = serial(Dense(512, 1.5, 0.05), Relu(), Dense(1));
//   Network same = parse_network("Dense(512, W_std=1.5, b_std=0.05), Relu, Dense(1)");
//   assert(net == same && parse_network(to_string(net)) == net);
//
// This header only describes networks. Everything a layer type does — how it prints and
// parses, its argument checks, how it maps the kernel state (infinite width) and activations
// (finite width) — lives in its own file under src/layers/ (docs/adding-a-layer.md); the
// engines visit `Layer` (a std::variant) and hand each layer to its rules.
//
// Residual branches use neural-tangents' combinators: FanOut(n), then parallel(...) with n
// branches, then FanInSum. Residual(f...) is shorthand for
// FanOut(2), parallel(serial(f...), Identity), FanInSum and is stored expanded.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "ntkit/activation_layer.hpp"

namespace ntkit {

struct Network;

enum class Parameterization { Ntk, Standard };

/// stax.Dense(out_dim, W_std=1., b_std=None, parameterization='ntk'). b_std = nullopt means
/// no bias parameter at all (under 'standard' that differs from b_std = 0; docs/mathematics.md §5).
struct DenseLayer {
  int out_dim = 1;
  double W_std = 1.0;
  std::optional<double> b_std;
  Parameterization parameterization = Parameterization::Ntk;
  friend bool operator==(const DenseLayer&, const DenseLayer&) = default;
};

/// stax.LayerNorm over the features: (x − mean) / √(var + eps). neural-tangents' axis,
/// batch_axis and channel_axis are accepted by the parser only with the values that mean
/// "the features of an n × d matrix", so they are not stored.
struct LayerNormLayer {
  double eps = 1e-12;
  friend bool operator==(const LayerNormLayer&, const LayerNormLayer&) = default;
};

/// stax.Identity: a no-op (a linear layer, not an activation: it may come first, and it is
/// the shortcut branch of a residual block).
struct IdentityLayer {
  friend bool operator==(const IdentityLayer&, const IdentityLayer&) = default;
};

/// stax.FanOut(num): num copies of the input, to be consumed by parallel(...) with num
/// branches (or summed by FanInSum).
struct FanOutLayer {
  int num = 2;
  friend bool operator==(const FanOutLayer&, const FanOutLayer&) = default;
};

/// stax.parallel(*layers): branch i maps input i. A branch is itself a serial network.
struct ParallelLayer {
  std::vector<Network> branches;
  friend bool operator==(const ParallelLayer&, const ParallelLayer&);
};

/// stax.FanInSum(): sums the parallel inputs into one.
struct FanInSumLayer {
  friend bool operator==(const FanInSumLayer&, const FanInSumLayer&) = default;
};

/// stax.FanInConcat(axis=-1): concatenates the parallel inputs' features into one input of
/// their total width. At infinite width the kernels of the pieces are averaged, weighted by
/// their widths (a following Dense mixes all features); the result is not Gaussian, so a
/// Dense must come before the next activation (as neural-tangents requires).
struct FanInConcatLayer {
  friend bool operator==(const FanInConcatLayer&, const FanInConcatLayer&) = default;
};

// ---- Convolutional layers (inputs with spatial axes: N × H × W × C images, N × L × C signals) ----
//
// A layer sees one example as a grid of positions (H × W, or L) with C channels. Dense, the
// activations, LayerNorm and the fan-in layers act on the channels at every position (as in
// neural-tangents, whose Dense is a 1 × 1 convolution on such inputs); the layers below act on
// the positions. Flatten or a global pool turns a spatial input into a flat one.

/// neural-tangents' padding names: 'VALID' (no padding: the output shrinks), 'SAME' (zeros so
/// that the output has ⌈size / stride⌉ positions), 'CIRCULAR' (the input wraps around).
enum class Padding { Valid, Same, Circular };

/// stax.Conv(out_chan, filter_shape, strides=None, padding='VALID', W_std=1., b_std=None,
/// parameterization='ntk'). filter_shape has one entry per spatial axis (1 or 2); strides is
/// empty for all ones. 'ntk': z = W_std/√(C·|filter|) Σ w·x + b_std b with w, b ~ N(0, 1).
struct ConvLayer {
  int out_chan = 1;
  std::vector<int> filter_shape;
  std::vector<int> strides;  // empty: 1 on every axis
  Padding padding = Padding::Valid;
  double W_std = 1.0;
  std::optional<double> b_std;
  Parameterization parameterization = Parameterization::Ntk;
  friend bool operator==(const ConvLayer&, const ConvLayer&) = default;
};

enum class PoolKind { Average, Sum };

/// stax.AvgPool(window_shape, strides=None, padding='VALID', normalize_edges=False) and
/// stax.SumPool(window_shape, strides=None, padding='VALID'). strides empty: 1 on every axis,
/// as in neural-tangents (a pool that halves the image needs strides=(2, 2) written out).
/// normalize_edges (AvgPool, 'SAME' padding): divide by the number of input positions inside
/// the window instead of the window size.
struct PoolLayer {
  PoolKind kind = PoolKind::Average;
  std::vector<int> window_shape;
  std::vector<int> strides;  // empty: 1 on every axis
  Padding padding = Padding::Valid;
  bool normalize_edges = false;
  friend bool operator==(const PoolLayer&, const PoolLayer&) = default;
};

/// stax.GlobalAvgPool() and stax.GlobalSumPool(): the mean (sum) over all positions; the
/// output is flat with C features (on a flat input they do nothing).
struct GlobalPoolLayer {
  PoolKind kind = PoolKind::Average;
  friend bool operator==(const GlobalPoolLayer&, const GlobalPoolLayer&) = default;
};

/// stax.Flatten(): all positions' channels side by side, a flat input of H·W·C features. Its
/// features have different variances, so (as in neural-tangents) a Dense must follow before an
/// activation or LayerNorm.
struct FlattenLayer {
  friend bool operator==(const FlattenLayer&, const FlattenLayer&) = default;
};

/// One layer. Each alternative's rules (text, checks, infinite- and finite-width passes) are in
/// its own file under src/layers/; adding an alternative without them does not compile.
using Layer = std::variant<DenseLayer, ActivationLayer, LayerNormLayer, IdentityLayer, FanOutLayer, ParallelLayer,
                           FanInSumLayer, FanInConcatLayer, ConvLayer, PoolLayer, GlobalPoolLayer, FlattenLayer>;

/// stax.serial(*layers): the layers applied in order.
struct Network {
  std::vector<Layer> layers;
  friend bool operator==(const Network&, const Network&);
};

// ---- Parameter tables (shared by the parser, the printer and the builders) -----------------

/// Largest FanOut: each branch holds a whole copy of the kernel state.
inline constexpr int kMaxFanOut = 64;
/// Deepest nesting: of brackets in network text, and of parallel(...) inside parallel(...)
/// (each Residual is one). The parser, validation and every engine recurse once per level, so
/// without a bound a few kilobytes of "[[[[…" or "Residual(Residual(…" overflow the stack.
inline constexpr int kMaxNesting = 64;

/// Throws ntkit::Error naming the layer and argument if a value is out of its domain
/// (Dense out_dim ≥ 1, W_std ≥ 0 finite, b_std ≥ 0 finite or None, degrees 0..kMaxDegree,
/// non-empty finite Polynomial coef of at most kMaxDegree + 1 entries, finite activation
/// parameters, FanOut num 1..kMaxFanOut, LayerNorm eps ≥ 0).
/// Returns the argument's name in `bad_argument` (if given) for the parser's column.
void check_layer_arguments(const Layer& layer, std::string* bad_argument = nullptr);

/// Checks the structure of a whole network and throws ntkit::Error if it is not one that
/// neural-tangents' kernel_fn accepts:
///  - at least one Dense; an activation or LayerNorm needs a Gaussian input, i.e. the output
///    of a Dense (possibly through Identity, LayerNorm or a FanInSum of Gaussian branches):
///    "missing Dense before an activation";
///  - FanOut(n) is followed by parallel(...) with n branches and/or FanInSum; parallel with
///    k > 1 branches needs k inputs; FanInSum needs more than one input; Dense, activations,
///    LayerNorm and Identity need exactly one input; the network ends with one output;
///  - no empty network or branch.
/// Also checks every layer's arguments (check_layer_arguments).
void validate(const Network& network);

/// The number of Dense and Conv layers (the layers with weights), branches included (what
/// AnalyticOptions::fixed_layers counts).
int dense_layer_count(const Network& network);

namespace detail {
/// What validate() found wrong, and where: path = indices (layer, branch, layer, …) of the
/// offending layer (empty: the whole network). `message` holds "{at}" where the parser puts
/// "at column c" and validate() puts "(layer i, branch j, layer k)".
struct NetworkProblem {
  std::vector<int> path;
  std::string message;
};
std::optional<NetworkProblem> find_problem(const Network& network);
}  // namespace detail

// ---- Text ----------------------------------------------------------------------------------

/// Parses neural-tangents-style text (grammar in src/network_parse.cpp), case-insensitive:
///   "Dense(512, W_std=1.5, b_std=0.05), Relu, Dense(1)"
/// and validates it. Throws ntkit::Error with the line/column, a caret under the text and,
/// for misspelled names, the closest valid one.
Network parse_network(std::string_view text);

/// Canonical text: neural-tangents' names, non-default arguments by keyword (Dense's out_dim
/// positional), parameterless layers without "()". parse_network(to_string(n)) == n.
std::string to_string(const Network& network);
std::string to_string(const Layer& layer);

// ---- Builders (mirror the text; C++ names follow neural-tangents) ----------------------------

Layer Dense(int out_dim, double W_std = 1.0, std::optional<double> b_std = std::nullopt,
            Parameterization parameterization = Parameterization::Ntk);
Layer Relu(bool do_stabilize = false);
Layer LeakyRelu(double alpha, bool do_stabilize = false);
Layer ABRelu(double a, double b, bool do_stabilize = false);
Layer Abs(bool do_stabilize = false);
Layer Erf(double a = 1.0, double b = 1.0, double c = 0.0);
Layer Sigmoid_like();
Layer Gelu(bool approximate = false);
Layer Sin(double a = 1.0, double b = 1.0, double c = 0.0);
Layer Cos(double a = 1.0, double b = 1.0, double c = 0.0);
Layer Sign();
Layer Step();  // = RectifiedMonomial(0); neural-tangents has no separate step layer
Layer Rbf(double gamma = 1.0);
Layer Gaussian(double a = 1.0, double b = -1.0);
Layer Exp(double a = 1.0, double b = 1.0);
Layer Monomial(int degree);
Layer RectifiedMonomial(int degree);
Layer Polynomial(std::vector<double> coef);
Layer Tanh();
Layer Softplus();
Layer Elu(double alpha = 1.0);
Layer Selu();
Layer Silu();
Layer Hermite(int degree);  // He_degree(x) / √(degree!), neural-tangents' Hermite
Layer Identity();
Layer LayerNorm(double eps = 1e-12);
Layer FanOut(int num);
Layer FanInSum();
Layer FanInConcat();
Layer Conv(int out_chan, std::vector<int> filter_shape, std::vector<int> strides = {}, Padding padding = Padding::Valid,
           double W_std = 1.0, std::optional<double> b_std = std::nullopt,
           Parameterization parameterization = Parameterization::Ntk);
Layer AvgPool(std::vector<int> window_shape, std::vector<int> strides = {}, Padding padding = Padding::Valid,
              bool normalize_edges = false);
Layer SumPool(std::vector<int> window_shape, std::vector<int> strides = {}, Padding padding = Padding::Valid);
Layer GlobalAvgPool();
Layer GlobalSumPool();
Layer Flatten();

namespace detail {
inline void append_layers(Network& out, const Layer& layer) { out.layers.push_back(layer); }
inline void append_layers(Network& out, const Network& network) {
  out.layers.insert(out.layers.end(), network.layers.begin(), network.layers.end());
}
inline Network as_network(const Layer& layer) { return Network{{layer}}; }
inline Network as_network(const Network& network) { return network; }
}  // namespace detail

/// serial(a, b, …): Layers and Networks, flattened into one list (serial is associative).
template <class... Parts>
Network serial(const Parts&... parts) {
  Network out;
  (detail::append_layers(out, parts), ...);
  return out;
}

/// parallel(branch, …): each argument (a Layer or a serial Network) is one branch.
template <class... Branches>
Layer parallel(const Branches&... branches) {
  return ParallelLayer{{detail::as_network(branches)...}};
}

/// Residual(f…) = FanOut(2), parallel(serial(f…), Identity), FanInSum.
template <class... Parts>
Network Residual(const Parts&... parts) {
  return Network{{FanOut(2), parallel(serial(parts...), Identity()), FanInSum()}};
}

}  // namespace ntkit
