// Mlp: compiling a Network into nodes with parameter offsets, drawing the parameters, and the
// public forward / vjp / jvp entry points (the passes themselves are in mlp_pass.cpp).
#include "ntkit/mlp.hpp"

#include <cmath>
#include <functional>
#include <random>
#include <sstream>

#include "layers/layer_rules.hpp"
#include "mlp_program.hpp"
#include "ntkit/error.hpp"

namespace ntkit {
namespace detail {

std::vector<MlpNode> FiniteCompiler::compile(const Network& network, std::vector<StreamShape>& streams) {
  std::vector<MlpNode> nodes;
  for (const Layer& layer : network.layers) {
    MlpNode node;
    node.layer = layer;
    node.id = program_.node_count++;
    // validate() has checked the structure: single-input layers see one stream here.
    node.after_params = streams.front().after_params;
    std::visit([&](const auto& l) { compile_finite(l, node, *this, streams); }, layer);
    nodes.push_back(std::move(node));
  }
  return nodes;
}

namespace {

void collect_dense(const std::vector<MlpNode>& nodes, std::vector<const MlpNode*>& out) {
  for (const MlpNode& node : nodes) {
    if (std::holds_alternative<DenseLayer>(node.layer)) out.push_back(&node);
    for (const auto& branch : node.branches) collect_dense(branch, out);
  }
}

}  // namespace

std::shared_ptr<const MlpProgram> compile_mlp(const Network& network, int input_dim) {
  if (input_dim < 1) {
    throw Error("Mlp: input dimension must be >= 1, got " + std::to_string(input_dim));
  }
  validate(network);
  auto program = std::make_shared<MlpProgram>();
  program->network = network;
  program->input_dim = input_dim;
  FiniteCompiler compiler(*program);
  std::vector<StreamShape> streams{StreamShape{input_dim, false}};
  program->nodes = compiler.compile(network, streams);
  program->output_dim = streams.front().width;
  program->parameter_count = compiler.parameter_count;
  collect_dense(program->nodes, program->dense);
  return program;
}

void require_inputs(MatrixView<double> x, int input_dim, const char* who, const char* name) {
  if (x.rows() < 1) throw Error(std::string(who) + ": " + name + " has no rows; give at least one example");
  if (x.cols() != input_dim) {
    std::ostringstream msg;
    msg << who << ": " << name << " has " << x.cols() << " columns but the network takes d = " << input_dim << " inputs";
    throw Error(msg.str());
  }
  if (!x.allFinite()) throw Error(std::string(who) + ": " + name + " contains NaN or Inf");
}

}  // namespace detail

Mlp::Mlp(const Network& network, int input_dim, std::uint64_t seed) : program_(detail::compile_mlp(network, input_dim)) {
  parameters_.resize(program_->parameter_count);
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  const std::function<double()> draw = [&] { return normal(rng); };
  for (const detail::MlpNode* dense : program_->dense) detail::initialize_dense(*dense, parameters_.data(), draw);
}

int Mlp::input_dim() const { return program_->input_dim; }
int Mlp::output_dim() const { return program_->output_dim; }
const Network& Mlp::network() const { return program_->network; }

void Mlp::set_parameters(VectorD parameters) {
  if (parameters.size() != parameters_.size()) {
    throw Error("Mlp::set_parameters: got " + std::to_string(parameters.size()) + " values but the network has " +
                std::to_string(parameters_.size()) + " parameters");
  }
  if (!parameters.allFinite()) throw Error("Mlp::set_parameters: parameters contain NaN or Inf");
  parameters_ = std::move(parameters);
}

std::vector<Mlp::DenseParameters> Mlp::dense_parameters() const {
  std::vector<DenseParameters> out;
  for (const detail::MlpNode* d : program_->dense) out.push_back({d->in, d->out, d->w_offset, d->b_offset});
  return out;
}

RowMatrixD Mlp::forward(MatrixView<double> x) const {
  detail::require_inputs(x, input_dim(), "Mlp::forward", "x");
  detail::MlpPass pass;
  detail::forward_pass(*program_, parameters_.data(), x, pass, false);
  return std::move(pass.output);
}

VectorD Mlp::vjp(MatrixView<double> x, MatrixView<double> cotangent) const {
  detail::require_inputs(x, input_dim(), "Mlp::vjp", "x");
  if (cotangent.rows() != x.rows() || cotangent.cols() != output_dim()) {
    std::ostringstream msg;
    msg << "Mlp::vjp: cotangent is " << cotangent.rows() << " x " << cotangent.cols() << " but must be " << x.rows() << " x "
        << output_dim() << " (one row per example, one column per output)";
    throw Error(msg.str());
  }
  detail::MlpPass pass;
  detail::forward_pass(*program_, parameters_.data(), x, pass, true);
  VectorD grad = VectorD::Zero(parameter_count());
  detail::accumulate_gradient(*program_, parameters_.data(), pass, cotangent, grad.data());
  return grad;
}

RowMatrixD Mlp::jvp(MatrixView<double> x, const VectorD& tangent, RowMatrixD* outputs) const {
  detail::require_inputs(x, input_dim(), "Mlp::jvp", "x");
  if (tangent.size() != parameter_count()) {
    throw Error("Mlp::jvp: tangent has " + std::to_string(tangent.size()) + " entries but the network has " +
                std::to_string(parameter_count()) + " parameters");
  }
  RowMatrixD f;
  RowMatrixD jv = detail::tangent_pass(*program_, parameters_.data(), tangent.data(), x, f);
  if (outputs) *outputs = std::move(f);
  return jv;
}

}  // namespace ntkit
