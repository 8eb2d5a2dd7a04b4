// The network description's generic parts: equality, argument checks, structural validation
// and canonical printing, each handing every layer to its own rules (src/layers/). The text
// parser is in network_parse.cpp.
#include "ntkit/network.hpp"

#include <string>
#include <utility>

#include "layers/layer_rules.hpp"
#include "ntkit/error.hpp"

namespace ntkit {
namespace detail {

std::optional<NetworkProblem> needs_single_input(const std::string& title, const StructureWalk& walk,
                                                 const std::vector<int>& path) {
  if (walk.streams.size() == 1) return std::nullopt;
  return NetworkProblem{path, title + " {at} gets " + std::to_string(walk.streams.size()) + " inputs from FanOut(" +
                                  std::to_string(walk.last_fan_out_num) +
                                  "); put it inside parallel(...) with one branch per input, "
                                  "or merge the inputs with FanInSum or FanInConcat first"};
}

std::optional<NetworkProblem> needs_gaussian_input(const std::string& title, const StructureStream& stream,
                                                   const std::vector<int>& path) {
  if (stream.gaussian) return std::nullopt;
  if (!stream.after_dense) {
    return NetworkProblem{path, "missing Dense before an activation: " + title +
                                    " {at} acts on the raw input; neural-tangents needs a Dense or Conv "
                                    "(a Gaussian input) before every activation and LayerNorm"};
  }
  return NetworkProblem{path, title +
                                  " {at} acts on a non-Gaussian input (the output of an "
                                  "activation, or a sum or concatenation with one); insert a Dense "
                                  "(or Conv) before it, as neural-tangents requires (its input must be Gaussian; Flatten's "
                                  "features have each position's own variance)"};
}

std::optional<NetworkProblem> check_structure(const Network& network, const std::vector<int>& prefix, StructureWalk& walk) {
  for (std::size_t i = 0; i < network.layers.size(); ++i) {
    std::vector<int> path = prefix;
    path.push_back(static_cast<int>(i));
    const Layer& layer = network.layers[i];
    try {
      check_layer_arguments(layer);
    } catch (const Error& error) {
      return NetworkProblem{path, std::string(error.what()) + " {at}"};
    }
    auto problem = std::visit([&](const auto& l) { return check_structure(l, path, walk); }, layer);
    if (problem) return problem;
  }
  if (walk.streams.size() != 1) {
    return NetworkProblem{walk.last_fan_out_path,
                          "FanOut(" + std::to_string(walk.last_fan_out_num) +
                              ") {at} is never merged: end its branches with FanInSum or FanInConcat"};
  }
  return std::nullopt;
}

}  // namespace detail

namespace {

std::string describe_path(const std::vector<int>& path) {
  std::string out = "(";
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (i > 0) out += ", ";
    out += (i % 2 == 0 ? "layer " : "branch ") + std::to_string(path[i] + 1);
  }
  return out + ")";
}

}  // namespace

bool operator==(const ParallelLayer& x, const ParallelLayer& y) { return x.branches == y.branches; }

bool operator==(const Network& x, const Network& y) { return x.layers == y.layers; }

void check_layer_arguments(const Layer& layer, std::string* bad) {
  std::visit([&](const auto& l) { detail::check_arguments(l, bad); }, layer);
}

std::optional<detail::NetworkProblem> detail::find_problem(const Network& network) {
  if (network.layers.empty()) {
    return NetworkProblem{{}, "empty network: give at least one layer, e.g. \"Dense(1)\""};
  }
  StructureWalk walk;
  if (auto problem = check_structure(network, {}, walk)) return problem;
  if (!walk.any_dense) {
    return NetworkProblem{{},
                          "the network has no Dense layer; neural-tangents' kernels need "
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
    if (std::holds_alternative<DenseLayer>(layer) || std::holds_alternative<ConvLayer>(layer)) ++count;
    if (const auto* par = std::get_if<ParallelLayer>(&layer))
      for (const Network& branch : par->branches) count += dense_layer_count(branch);
  }
  return count;
}

std::string to_string(const Layer& layer) {
  return std::visit([](const auto& l) { return detail::print_layer(l); }, layer);
}

std::string to_string(const Network& network) {
  std::string out;
  for (std::size_t i = 0; i < network.layers.size(); ++i) {
    if (i > 0) out += ", ";
    out += to_string(network.layers[i]);
  }
  return out;
}

}  // namespace ntkit
