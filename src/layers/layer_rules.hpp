// The rules every layer type defines, in one file per type under src/layers/ (private).
//
// A layer type is a struct in include/ntkit/network.hpp and an alternative of `Layer`. Its file
// src/layers/<name>.cpp defines, for that struct L, every function NTKIT_LAYER_RULES(L) declares
// below: how it prints and parses, what its arguments may be, what it needs of its inputs
// (structure), how it maps the kernel state (infinite width), and its finite-width forward,
// backward (vjp) and tangent (jvp) passes. The engines call these through std::visit over
// `Layer`, so a layer type without one of its rules does not compile (no matching overload) or
// does not link — nothing falls through to another layer's code. docs/adding-a-layer.md walks
// through an example.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "../mlp_program.hpp"
#include "kernel_state.hpp"
#include "network_text.hpp"
#include "ntkit/network.hpp"

namespace ntkit::detail {

// ---- Structure (validate()) ----------------------------------------------------------------

/// One input stream of a layer while validating: whether it is Gaussian (neural-tangents'
/// Kernel.is_gaussian: the output of a Dense, possibly through Identity / LayerNorm / a sum of
/// Gaussians) and whether a Dense lies on its path (to tell "no Dense yet" from "activation
/// twice").
struct StructureStream {
  bool gaussian = false;
  bool after_dense = false;
};

/// The walk over a network while validating: the current input streams and what FanOut made
/// them (for messages).
struct StructureWalk {
  std::vector<StructureStream> streams{StructureStream{}};
  std::vector<int> last_fan_out_path;
  int last_fan_out_num = 0;
  bool any_dense = false;
};

/// Walks a (sub)network's layers; defined in network.cpp (parallel's rule recurses into it).
std::optional<NetworkProblem> check_structure(const Network& network, const std::vector<int>& prefix, StructureWalk& walk);
/// The problem for a layer that needs one input but sees several (after FanOut).
std::optional<NetworkProblem> needs_single_input(const std::string& title, const StructureWalk& walk,
                                                 const std::vector<int>& path);
/// The problem for a layer that needs a Gaussian input (activations, LayerNorm) and has none.
std::optional<NetworkProblem> needs_gaussian_input(const std::string& title, const StructureStream& stream,
                                                   const std::vector<int>& path);

// ---- Finite-width compilation -----------------------------------------------------------------

/// One input stream while compiling a finite network: its width (channels), whether a
/// parameter lies upstream (then backward must return an input cotangent), and its positions
/// per spatial axis (empty: flat; mlp_program.hpp says how spatial streams are stored).
struct StreamShape {
  int width = 0;
  bool after_params = false;
  std::vector<int> dims;
};

/// Assigns node ids and parameter offsets; parallel's rule recurses through compile().
class FiniteCompiler {
 public:
  explicit FiniteCompiler(MlpProgram& program) : program_(program) {}
  std::vector<MlpNode> compile(const Network& network, std::vector<StreamShape>& streams);
  /// Reserves `count` parameters; returns their offset.
  Eigen::Index reserve_parameters(Eigen::Index count) {
    const Eigen::Index offset = parameter_count;
    parameter_count += count;
    return offset;
  }
  Eigen::Index parameter_count = 0;

 private:
  MlpProgram& program_;
};

/// The first walk of the kernel compilation, in order: what each layer needs (dual
/// activations, fixed layers) and the spatial shape of every stream.
class KernelCompiler {
 public:
  KernelCompiler(KernelProgram& program, int degree, int fixed_layers)
      : quadrature_degree(degree), program_(program), fixed_layers_(fixed_layers) {}
  std::vector<KernelNode> compile(const Network& network);
  /// True for the first `fixed_layers` Dense / Conv layers, in written order (branches in order).
  bool next_dense_is_fixed() { return dense_seen_++ < fixed_layers_; }
  const int quadrature_degree;  // for the dual activations (AnalyticOptions::quadrature_degree)
  /// The current streams' positions per spatial axis (empty: flat); each layer's compile rule
  /// updates them.
  std::vector<std::vector<int>> dims;

 private:
  KernelProgram& program_;
  int fixed_layers_ = 0, dense_seen_ = 0;
};

/// A fan-in layer's inputs must have the same positions: leaves one stream of them (throws
/// ntkit::Error naming `layer` otherwise).
void join_spatial_shapes(const std::string& layer, std::vector<std::vector<int>>& dims);

/// The second walk, backwards: from the offsets a layer's outputs need to those its inputs
/// need, making the layouts and maps (spatial_layout.hpp) on the way.
class KernelPlanner {
 public:
  /// Walks `nodes` backwards; `needs` holds the needs of their output streams on entry and of
  /// their input streams on return.
  void plan(std::vector<KernelNode>& nodes, std::vector<Radii>& needs);
  /// A layout (nullptr for flat dims), remembering the largest for the chunk size.
  std::shared_ptr<const SpatialLayout> layout(const std::vector<int>& dims, const Radii& radii);
  Eigen::Index max_values = 1;
};

/// Dense's infinite-width rule, which Conv shares (applied after its spatial map): fan_in is
/// what multiplies K_old in the NTK under 'standard' (the input width; C·|filter| for Conv).
struct AffineKernel {
  double W_std = 1.0;
  std::optional<double> b_std;
  Parameterization parameterization = Parameterization::Ntk;
  double fan_in = 1.0;
  bool fixed = false;
};
void apply_affine_kernel(KernelStream& stream, Eigen::Index size, const AffineKernel& affine, bool ntk);

/// The windows of a Conv or pool along each spatial axis of its input (throws ntkit::Error
/// naming `layer` for an input without spatial axes, of another rank, or too small).
std::vector<AxisWindow> make_windows(const std::string& layer, const std::vector<int>& in_dims,
                                     const std::vector<int>& window, const std::vector<int>& strides, Padding padding);

// ---- The rules of one layer type ------------------------------------------------------------

#define NTKIT_LAYER_RULES(L)                                                                                        \
  /* Text: neural-tangents' names; print(parse(text)) is canonical. */                                              \
  std::vector<std::string> layer_names(const L*);                                                                   \
  Layer parse_layer(const L*, const Call& call);                                                                    \
  std::string print_layer(const L& layer);                                                                          \
  /* Argument domains: throws Error naming the argument (its name into *bad). */                                    \
  void check_arguments(const L& layer, std::string* bad);                                                           \
  /* Structure: what the layer needs of its input streams, what it makes of them. */                                \
  std::optional<NetworkProblem> check_structure(const L& layer, const std::vector<int>& path, StructureWalk& walk); \
  /* Infinite width. */                                                                                             \
  void compile_kernel(const L& layer, KernelNode& node, KernelCompiler& compiler);                                  \
  void plan_kernel(const L& layer, KernelNode& node, KernelPlanner& planner, std::vector<Radii>& needs);            \
  void apply_kernel(const L& layer, const KernelNode& node, KernelPass& pass, std::vector<KernelStream>& streams);  \
  /* Finite width. */                                                                                               \
  void compile_finite(const L& layer, MlpNode& node, FiniteCompiler& compiler, std::vector<StreamShape>& streams);  \
  void forward(const L& layer, const MlpNode& node, ForwardPass& pass, std::vector<RowMatrixD>& streams);           \
  void backward(const L& layer, const MlpNode& node, BackwardPass& pass, std::vector<RowMatrixD>& cotangents);      \
  void tangent(const L& layer, const MlpNode& node, TangentPass& pass, std::vector<TangentStream>& streams);

NTKIT_LAYER_RULES(DenseLayer)
NTKIT_LAYER_RULES(ActivationLayer)
NTKIT_LAYER_RULES(LayerNormLayer)
NTKIT_LAYER_RULES(IdentityLayer)
NTKIT_LAYER_RULES(FanOutLayer)
NTKIT_LAYER_RULES(ParallelLayer)
NTKIT_LAYER_RULES(FanInSumLayer)
NTKIT_LAYER_RULES(FanInConcatLayer)
NTKIT_LAYER_RULES(ConvLayer)
NTKIT_LAYER_RULES(PoolLayer)
NTKIT_LAYER_RULES(GlobalPoolLayer)
NTKIT_LAYER_RULES(FlattenLayer)

/// Every name the parser knows for a layer type, over all alternatives of Layer.
template <class Visitor>
void for_each_layer_type(Visitor&& visit) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (visit(static_cast<const std::variant_alternative_t<I, Layer>*>(nullptr)), ...);
  }
  (std::make_index_sequence<std::variant_size_v<Layer>>{});
}

}  // namespace ntkit::detail
