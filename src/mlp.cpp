// Mlp: compiling a Network into nodes with parameter offsets, drawing the parameters, and the
// public forward / vjp / jvp entry points (the passes themselves are in mlp_pass.cpp).
#include "ntkit/mlp.hpp"

#include <cmath>
#include <random>
#include <sstream>

#include "mlp_program.hpp"
#include "ntkit/error.hpp"

namespace ntkit {
namespace detail {
namespace {

using Kind = MlpNode::Kind;

// One input stream while compiling: its width and whether a parameter lies upstream.
struct StreamShape {
  int width = 0;
  bool after_params = false;
};

class Compiler {
 public:
  explicit Compiler(MlpProgram& program) : program_(program) {}

  std::vector<MlpNode> compile(const Network& network, std::vector<StreamShape>& streams) {
    std::vector<MlpNode> nodes;
    for (const Layer& layer : network.layers) nodes.push_back(compile(layer, streams));
    return nodes;
  }

  // Parameter offsets are assigned after compiling (the node tree's addresses are final then).
  Eigen::Index parameter_count = 0;

 private:
  MlpNode compile(const Layer& layer, std::vector<StreamShape>& streams) {
    MlpNode node;
    node.id = program_.node_count++;
    // validate() has checked the structure: single-input layers see one stream here.
    const StreamShape s = streams.front();
    node.after_params = s.after_params;
    if (const auto* d = std::get_if<DenseLayer>(&layer)) {
      node.kind = Kind::Dense;
      node.in = s.width;
      node.out = d->out_dim;
      node.W_std = d->W_std;
      node.b_std = d->b_std.value_or(0.0);
      const double root_in = std::sqrt(static_cast<double>(node.in));
      if (d->parameterization == Parameterization::Ntk) {
        node.w_scale = d->W_std / root_in, node.b_scale = node.b_std;
        node.w_init = 1.0, node.b_init = 1.0;
      } else {
        node.w_scale = 1.0, node.b_scale = 1.0;
        node.w_init = d->W_std / root_in, node.b_init = node.b_std;
      }
      node.w_offset = parameter_count;
      parameter_count += static_cast<Eigen::Index>(node.in) * node.out;
      if (d->b_std) {
        node.b_offset = parameter_count;
        parameter_count += node.out;
      }
      streams.front() = StreamShape{d->out_dim, true};
    } else if (const auto* a = std::get_if<ActivationLayer>(&layer)) {
      node.kind = Kind::Activation;
      node.activation = std::make_shared<const PointwiseActivation>(*a);
    } else if (const auto* n = std::get_if<LayerNormLayer>(&layer)) {
      node.kind = Kind::LayerNorm;
      node.eps = n->eps;
    } else if (std::holds_alternative<IdentityLayer>(layer)) {
      node.kind = Kind::Identity;
    } else if (const auto* f = std::get_if<FanOutLayer>(&layer)) {
      node.kind = Kind::FanOut;
      node.num = f->num;
      streams.assign(static_cast<std::size_t>(f->num), s);
    } else if (const auto* p = std::get_if<ParallelLayer>(&layer)) {
      node.kind = Kind::Parallel;
      std::vector<StreamShape> outputs;
      for (std::size_t b = 0; b < p->branches.size(); ++b) {
        std::vector<StreamShape> branch{streams[streams.size() == 1 ? 0 : b]};
        node.branches.push_back(compile(p->branches[b], branch));
        outputs.push_back(branch.front());
      }
      streams = outputs;
    } else {  // FanInSum
      node.kind = Kind::FanInSum;
      node.num = static_cast<int>(streams.size());
      StreamShape sum{streams.front().width, false};
      for (std::size_t b = 0; b < streams.size(); ++b) {
        if (streams[b].width != sum.width) {
          std::ostringstream msg;
          msg << "Mlp: FanInSum adds inputs of different widths (" << streams.front().width
              << " from branch 1, " << streams[b].width << " from branch " << b + 1
              << "); give every branch the same output width (the shortcut keeps its input's)";
          throw Error(msg.str());
        }
        sum.after_params = sum.after_params || streams[b].after_params;
      }
      streams.assign(1, sum);
    }
    return node;
  }

  MlpProgram& program_;
};

void collect_dense(const std::vector<MlpNode>& nodes, std::vector<const MlpNode*>& out) {
  for (const MlpNode& node : nodes) {
    if (node.kind == Kind::Dense) out.push_back(&node);
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
  Compiler compiler(*program);
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
    msg << who << ": " << name << " has " << x.cols() << " columns but the network takes d = "
        << input_dim << " inputs";
    throw Error(msg.str());
  }
  if (!x.allFinite()) throw Error(std::string(who) + ": " + name + " contains NaN or Inf");
}

}  // namespace detail

Mlp::Mlp(const Network& network, int input_dim, std::uint64_t seed)
    : program_(detail::compile_mlp(network, input_dim)) {
  parameters_.resize(program_->parameter_count);
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  for (const detail::MlpNode* dense : program_->dense) {
    double* w = parameters_.data() + dense->w_offset;
    const Eigen::Index nw = static_cast<Eigen::Index>(dense->in) * dense->out;
    for (Eigen::Index i = 0; i < nw; ++i) w[i] = dense->w_init * normal(rng);
    if (dense->b_offset >= 0) {
      double* b = parameters_.data() + dense->b_offset;
      for (int i = 0; i < dense->out; ++i) b[i] = dense->b_init * normal(rng);
    }
  }
}

int Mlp::input_dim() const { return program_->input_dim; }
int Mlp::output_dim() const { return program_->output_dim; }
const Network& Mlp::network() const { return program_->network; }

void Mlp::set_parameters(VectorD parameters) {
  if (parameters.size() != parameters_.size()) {
    throw Error("Mlp::set_parameters: got " + std::to_string(parameters.size()) +
                " values but the network has " + std::to_string(parameters_.size()) + " parameters");
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
    msg << "Mlp::vjp: cotangent is " << cotangent.rows() << " x " << cotangent.cols() << " but must be "
        << x.rows() << " x " << output_dim() << " (one row per example, one column per output)";
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
    throw Error("Mlp::jvp: tangent has " + std::to_string(tangent.size()) +
                " entries but the network has " + std::to_string(parameter_count()) + " parameters");
  }
  RowMatrixD f;
  RowMatrixD jv = detail::tangent_pass(*program_, parameters_.data(), tangent.data(), x, f);
  if (outputs) *outputs = std::move(f);
  return jv;
}

}  // namespace ntkit
