// The network description: builders, equality, argument checks,
// structural validation and canonical printing. The text parser is in network_parse.cpp.
#include "ntkit/network.hpp"

#include <charconv>
#include <cmath>
#include <string>
#include <utility>

#include "layer_text.hpp"
#include "ntkit/error.hpp"

namespace ntkit {
namespace {

using detail::bad_argument;
using detail::format_list;
using detail::format_number;
using detail::join_arguments;

std::string print_branch(const Network& branch) {
  if (branch.layers.size() == 1) return to_string(branch.layers.front());
  std::string out = "serial(";
  for (std::size_t i = 0; i < branch.layers.size(); ++i) {
    if (i > 0) out += ", ";
    out += to_string(branch.layers[i]);
  }
  return out + ")";
}

// ---- Structural validation ---------------------------------------------------------------

// One input stream of a layer: whether it is Gaussian (neural-tangents' Kernel.is_gaussian:
// the output of a Dense, possibly through Identity / LayerNorm / FanInSum of Gaussians) and
// whether any Dense lies on its path (to tell "no Dense yet" from "activation twice").
struct Stream {
  bool gaussian = false;
  bool after_dense = false;
};

struct Walk {
  std::vector<Stream> streams{Stream{}};
  std::vector<int> last_fan_out_path;
  int last_fan_out_num = 0;
  bool any_dense = false;
};

using Problem = detail::NetworkProblem;

std::string layer_title(const Layer& layer) {
  if (const auto* activation = std::get_if<ActivationLayer>(&layer)) {
    // Built by appending: g++ 12 at -O3 misreports `"'" + std::string` as overlapping memcpy.
    std::string title = "'";
    title += to_string(activation->kind);
    title += "'";
    return title;
  }
  if (std::holds_alternative<DenseLayer>(layer)) return "'Dense'";
  if (std::holds_alternative<LayerNormLayer>(layer)) return "'LayerNorm'";
  if (std::holds_alternative<IdentityLayer>(layer)) return "'Identity'";
  if (std::holds_alternative<FanOutLayer>(layer)) return "'FanOut'";
  if (std::holds_alternative<ParallelLayer>(layer)) return "'parallel'";
  return "'FanInSum'";
}

std::optional<Problem> walk_network(const Network& network, const std::vector<int>& prefix,
                                    Walk& walk);

std::optional<Problem> needs_single_input(const Layer& layer, const Walk& walk,
                                          const std::vector<int>& path) {
  if (walk.streams.size() == 1) return std::nullopt;
  return Problem{path, layer_title(layer) + " {at} gets " + std::to_string(walk.streams.size()) +
                           " inputs from FanOut(" + std::to_string(walk.last_fan_out_num) +
                           "); put it inside parallel(...) with one branch per input, "
                           "or merge the inputs with FanInSum first"};
}

std::optional<Problem> needs_gaussian_input(const Layer& layer, const Stream& stream,
                                            const std::vector<int>& path) {
  if (stream.gaussian) return std::nullopt;
  const std::string title = layer_title(layer);
  if (!stream.after_dense) {
    return Problem{path, "missing Dense before an activation: " + title +
                             " {at} acts on the raw input; neural-tangents needs a Dense "
                             "(a Gaussian input) before every activation and LayerNorm"};
  }
  return Problem{path, title + " {at} acts on a non-Gaussian input (the output of an "
                               "activation, or a sum with one); insert a Dense before it, "
                               "as neural-tangents requires (its input must be Gaussian)"};
}

std::optional<Problem> walk_layer(const Layer& layer, const std::vector<int>& path, Walk& walk) {
  try {
    check_layer_arguments(layer);
  } catch (const Error& error) {
    return Problem{path, std::string(error.what()) + " {at}"};
  }
  if (const auto* parallel = std::get_if<ParallelLayer>(&layer)) {
    const std::size_t k = parallel->branches.size();
    if (k == 0) return Problem{path, "parallel() {at} has no branches"};
    // path alternates layer and branch indices: one pair per enclosing parallel.
    if (path.size() / 2 >= static_cast<std::size_t>(kMaxNesting)) {
      return Problem{path, "parallel(...) {at} is nested more than " +
                               std::to_string(kMaxNesting) + " levels deep: flatten the network"};
    }
    if (walk.streams.size() != k && !(walk.streams.size() == 1 && k == 1)) {
      if (walk.streams.size() == 1) {
        return Problem{path, "parallel(...) {at} has " + std::to_string(k) +
                                 " branches but only one input: put FanOut(" +
                                 std::to_string(k) + ") before it"};
      }
      return Problem{path, "parallel(...) {at} has " + std::to_string(k) +
                               " branches but the preceding FanOut(" +
                               std::to_string(walk.last_fan_out_num) + ") makes " +
                               std::to_string(walk.streams.size()) +
                               " inputs; the counts must match"};
    }
    std::vector<Stream> outputs;
    for (std::size_t i = 0; i < k; ++i) {
      std::vector<int> branch_path = path;
      branch_path.push_back(static_cast<int>(i));
      if (parallel->branches[i].layers.empty()) {
        return Problem{branch_path, "branch " + std::to_string(i + 1) +
                                        " of parallel(...) {at} is empty; use Identity for "
                                        "a shortcut"};
      }
      Walk branch;
      branch.streams = {walk.streams[walk.streams.size() == 1 ? 0 : i]};
      if (auto problem = walk_network(parallel->branches[i], branch_path, branch)) {
        return problem;
      }
      walk.any_dense = walk.any_dense || branch.any_dense;
      outputs.push_back(branch.streams.front());
    }
    walk.streams = std::move(outputs);
    return std::nullopt;
  }
  if (const auto* fan_out = std::get_if<FanOutLayer>(&layer)) {
    if (auto problem = needs_single_input(layer, walk, path)) return problem;
    walk.streams.assign(static_cast<std::size_t>(fan_out->num), walk.streams.front());
    walk.last_fan_out_path = path;
    walk.last_fan_out_num = fan_out->num;
    return std::nullopt;
  }
  if (std::holds_alternative<FanInSumLayer>(layer)) {
    if (walk.streams.size() < 2) {
      return Problem{path, "FanInSum {at} has nothing to merge: it needs FanOut(n) (and "
                           "parallel(...) with n branches) before it"};
    }
    // Lenient where neural-tangents raises NotImplementedError (non-Gaussian summands): the
    // covariance of a sum of independent branches is still the sum of covariances; only a
    // later activation needs Gaussian inputs, and that is checked there.
    Stream sum{true, false};
    for (const Stream& stream : walk.streams) {
      sum.gaussian = sum.gaussian && stream.gaussian;
      sum.after_dense = sum.after_dense || stream.after_dense;
    }
    walk.streams = {sum};
    return std::nullopt;
  }
  if (auto problem = needs_single_input(layer, walk, path)) return problem;
  Stream& stream = walk.streams.front();
  if (std::holds_alternative<DenseLayer>(layer)) {
    stream = Stream{true, true};
    walk.any_dense = true;
  } else if (std::holds_alternative<ActivationLayer>(layer)) {
    if (auto problem = needs_gaussian_input(layer, stream, path)) return problem;
    stream.gaussian = false;
  } else if (std::holds_alternative<LayerNormLayer>(layer)) {
    // neural-tangents' LayerNorm kernel ignores the mean subtraction: valid for Gaussian
    // (zero-mean) inputs only; its output stays Gaussian.
    if (auto problem = needs_gaussian_input(layer, stream, path)) return problem;
  }
  return std::nullopt;  // Identity: unchanged
}

std::optional<Problem> walk_network(const Network& network, const std::vector<int>& prefix,
                                    Walk& walk) {
  for (std::size_t i = 0; i < network.layers.size(); ++i) {
    std::vector<int> path = prefix;
    path.push_back(static_cast<int>(i));
    if (auto problem = walk_layer(network.layers[i], path, walk)) return problem;
  }
  if (walk.streams.size() != 1) {
    return Problem{walk.last_fan_out_path,
                   "FanOut(" + std::to_string(walk.last_fan_out_num) +
                       ") {at} is never merged: end its branches with FanInSum"};
  }
  return std::nullopt;
}

std::string describe_path(const std::vector<int>& path) {
  std::string out = "(";
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (i > 0) out += ", ";
    out += (i % 2 == 0 ? "layer " : "branch ") + std::to_string(path[i] + 1);
  }
  return out + ")";
}

}  // namespace

// ---- Tables --------------------------------------------------------------------------------

// ---- Equality ------------------------------------------------------------------------------

bool operator==(const ParallelLayer& x, const ParallelLayer& y) { return x.branches == y.branches; }

bool operator==(const Network& x, const Network& y) { return x.layers == y.layers; }

// ---- Checks --------------------------------------------------------------------------------

void check_layer_arguments(const Layer& layer, std::string* bad) {
  if (const auto* dense = std::get_if<DenseLayer>(&layer)) {
    if (dense->out_dim < 1) {
      bad_argument("Dense", "out_dim", "a positive integer", std::to_string(dense->out_dim), bad);
    }
    if (!std::isfinite(dense->W_std) || dense->W_std < 0) {
      bad_argument("Dense", "W_std", "a finite number ≥ 0", format_number(dense->W_std), bad);
    }
    if (dense->b_std && (!std::isfinite(*dense->b_std) || *dense->b_std < 0)) {
      bad_argument("Dense", "b_std", "a finite number ≥ 0, or None for no bias",
                   format_number(*dense->b_std), bad);
    }
  } else if (const auto* activation = std::get_if<ActivationLayer>(&layer)) {
    check_activation_arguments(*activation, bad);
  } else if (const auto* norm = std::get_if<LayerNormLayer>(&layer)) {
    if (!std::isfinite(norm->eps) || norm->eps < 0) {
      bad_argument("LayerNorm", "eps", "a finite number ≥ 0", format_number(norm->eps), bad);
    }
  } else if (const auto* fan_out = std::get_if<FanOutLayer>(&layer)) {
    if (fan_out->num < 1 || fan_out->num > kMaxFanOut) {
      bad_argument("FanOut", "num", "an integer from 1 to " + std::to_string(kMaxFanOut),
                   std::to_string(fan_out->num), bad);
    }
  }
}

std::optional<detail::NetworkProblem> detail::find_problem(const Network& network) {
  if (network.layers.empty()) {
    return NetworkProblem{{}, "empty network: give at least one layer, e.g. \"Dense(1)\""};
  }
  Walk walk;
  if (auto problem = walk_network(network, {}, walk)) return problem;
  if (!walk.any_dense) {
    return NetworkProblem{{}, "the network has no Dense layer; neural-tangents' kernels need "
                              "at least one, e.g. \"Dense(512), Relu, Dense(1)\""};
  }
  return std::nullopt;
}

void validate(const Network& network) {
  if (auto problem = detail::find_problem(network)) {
    std::string message = problem->message;
    const std::size_t at = message.find("{at}");
    if (at != std::string::npos) message.replace(at, 4, describe_path(problem->path));
    throw Error("validate(network): " + message);
  }
}

int dense_layer_count(const Network& network) {
  int count = 0;
  for (const Layer& layer : network.layers) {
    if (std::holds_alternative<DenseLayer>(layer)) ++count;
    if (const auto* par = std::get_if<ParallelLayer>(&layer))
      for (const Network& branch : par->branches) count += dense_layer_count(branch);
  }
  return count;
}

// ---- Printing ------------------------------------------------------------------------------

std::string to_string(const Layer& layer) {
  if (const auto* dense = std::get_if<DenseLayer>(&layer)) {
    std::vector<std::string> arguments{std::to_string(dense->out_dim)};
    if (dense->W_std != 1.0) arguments.push_back("W_std=" + format_number(dense->W_std));
    if (dense->b_std) arguments.push_back("b_std=" + format_number(*dense->b_std));
    if (dense->parameterization == Parameterization::Standard) {
      arguments.push_back("parameterization='standard'");
    }
    return join_arguments("Dense", arguments);
  }
  if (const auto* activation = std::get_if<ActivationLayer>(&layer)) return to_string(*activation);
  if (const auto* norm = std::get_if<LayerNormLayer>(&layer)) {
    if (norm->eps == LayerNormLayer{}.eps) return "LayerNorm";
    return "LayerNorm(eps=" + format_number(norm->eps) + ")";
  }
  if (std::holds_alternative<IdentityLayer>(layer)) return "Identity";
  if (const auto* fan_out = std::get_if<FanOutLayer>(&layer)) {
    return "FanOut(" + std::to_string(fan_out->num) + ")";
  }
  if (const auto* parallel = std::get_if<ParallelLayer>(&layer)) {
    std::vector<std::string> branches;
    for (const Network& branch : parallel->branches) branches.push_back(print_branch(branch));
    return branches.empty() ? "parallel()" : join_arguments("parallel", branches);
  }
  return "FanInSum";
}

std::string to_string(const Network& network) {
  std::string out;
  for (std::size_t i = 0; i < network.layers.size(); ++i) {
    if (i > 0) out += ", ";
    out += to_string(network.layers[i]);
  }
  return out;
}

// ---- Builders ------------------------------------------------------------------------------

namespace {
Layer checked(Layer layer) {
  check_layer_arguments(layer);
  return layer;
}

}  // namespace

Layer Dense(int out_dim, double W_std, std::optional<double> b_std,
            Parameterization parameterization) {
  return checked(DenseLayer{out_dim, W_std, b_std, parameterization});
}
Layer Identity() { return IdentityLayer{}; }
Layer LayerNorm(double eps) { return checked(LayerNormLayer{eps}); }
Layer FanOut(int num) { return checked(FanOutLayer{num}); }
Layer FanInSum() { return FanInSumLayer{}; }

}  // namespace ntkit
