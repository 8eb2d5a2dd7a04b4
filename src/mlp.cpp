// Mlp: compiling a Network into nodes with parameter offsets, drawing the parameters, and the
// public forward / vjp / jvp entry points (the passes themselves are in mlp_pass.cpp).
#include "ntkit/mlp.hpp"

#include <cmath>
#include <functional>
#include <limits>
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
    node.in_dims = streams.front().dims;
    std::visit([&](const auto& l) { compile_finite(l, node, *this, streams); }, layer);
    node.out_dims = streams.front().dims;
    node.positions = 1;
    for (int size : node.out_dims) node.positions *= size;
    nodes.push_back(std::move(node));
  }
  return nodes;
}

namespace {

// The weight layers (Dense, Conv) in written order, branches in order: the order their
// parameters are reserved and drawn in.
void collect_dense(const std::vector<MlpNode>& nodes, std::vector<const MlpNode*>& out) {
  for (const MlpNode& node : nodes) {
    if (std::holds_alternative<DenseLayer>(node.layer) || std::holds_alternative<ConvLayer>(node.layer)) {
      out.push_back(&node);
    }
    for (const auto& branch : node.branches) collect_dense(branch, out);
  }
}

}  // namespace

std::shared_ptr<const MlpProgram> compile_mlp(const Network& network, const std::vector<int>& input_shape) {
  if (input_shape.empty() || input_shape.size() > 3) {
    throw Error("Mlp: the input shape has " + std::to_string(input_shape.size()) +
                " axes; give {d} for flat inputs, {L, C} for signals or {H, W, C} for images");
  }
  std::ostringstream text;
  for (std::size_t a = 0; a < input_shape.size(); ++a) text << (a ? ", " : "") << input_shape[a];
  long long values = 1;
  for (int size : input_shape) {
    if (size < 1) {
      throw Error(input_shape.size() == 1 ? "Mlp: input dimension must be >= 1, got " + std::to_string(size)
                                          : "Mlp: the input shape (" + text.str() + ") has an axis of size " +
                                                std::to_string(size) + "; every axis needs at least 1");
    }
    values *= size;
  }
  if (values > std::numeric_limits<int>::max()) throw Error("Mlp: the input shape (" + text.str() + ") is too large");
  validate(network);
  auto program = std::make_shared<MlpProgram>();
  program->network = network;
  program->input_shape = input_shape;
  program->input_dim = static_cast<int>(values);
  FiniteCompiler compiler(*program);
  // An example is P positions (all axes but the last) of C channels (the last axis).
  StreamShape input{input_shape.back(), false, std::vector<int>(input_shape.begin(), input_shape.end() - 1)};
  for (int size : input.dims) program->input_positions *= size;
  std::vector<StreamShape> streams{input};
  program->nodes = compiler.compile(network, streams);
  for (int size : streams.front().dims) program->output_positions *= size;
  program->output_dim = static_cast<int>(streams.front().width * program->output_positions);
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

Mlp::Mlp(const Network& network, int input_dim, std::uint64_t seed) : Mlp(network, std::vector<int>{input_dim}, seed) {}

Mlp::Mlp(const Network& network, std::vector<int> input_shape, std::uint64_t seed)
    : program_(detail::compile_mlp(network, input_shape)) {
  parameters_.resize(program_->parameter_count);
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  const std::function<double()> draw = [&] { return normal(rng); };
  for (const detail::MlpNode* dense : program_->dense) detail::initialize_dense(*dense, parameters_.data(), draw);
}

int Mlp::input_dim() const { return program_->input_dim; }
const std::vector<int>& Mlp::input_shape() const { return program_->input_shape; }
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
