// Conv(out_chan, filter_shape, strides=None, padding='VALID', W_std=1, b_std=None,
// parameterization='ntk'): neural-tangents' stax.Conv on inputs with 1 or 2 spatial axes
// (docs/mathematics.md §7).
//
// Finite width ('ntk'): z(p) = W_std/√(C·|F|) Σ_{f ∈ F} W_f h(p·s + f − pad) + b_std b, with W, b ~ N(0, 1),
// C the input channels and |F| the filter size; 'standard': W ~ N(0, W_std²/(C·|F|)), b ~ N(0, b_std²).
// Infinite width, per pair of positions (p, p') of the pair's spatial covariance K:
//   'ntk'       K ← W_std² · mean_{f ∈ F} K(p·s + f, p'·s + f) + b_std²,   Θ ← W_std² · mean_f Θ(…) + K_new
//   'standard'  Θ ← C·|F| · mean_f K_old(…) + W_std² · mean_f Θ(…) + [1 if the bias exists],  K as 'ntk'
// The filter moves both positions together, so the offset p' − p is kept (times the stride):
// a later layer that needs only some offsets needs the same ones (·s) here (spatial_layout.hpp).
#include "../layer_text.hpp"
#include "layer_rules.hpp"
#include "ntkit/error.hpp"
#include "spatial_layout.hpp"

namespace ntkit::detail {

// ---- Text and checks -----------------------------------------------------------------------

std::vector<std::string> layer_names(const ConvLayer*) { return {"Conv"}; }

Layer parse_layer(const ConvLayer*, const Call& text) {
  // stax.Conv(out_chan, filter_shape, strides=None, padding='VALID', W_std=1.0, b_std=None,
  //           dimension_numbers=None, parameterization='ntk', s=(1, 1))
  LayerCall call(text, "Conv");
  call.bind({{"out_chan", ParamType::Int, true},
             {"filter_shape", ParamType::IntPair, true},
             {"strides", ParamType::IntPair},
             {"padding", ParamType::String},
             {"W_std", ParamType::Float},
             {"b_std", ParamType::OptionalFloat},
             {"dimension_numbers", ParamType::String},
             {"parameterization", ParamType::String},
             {"s", ParamType::IntPair}});
  ConvLayer conv;
  conv.out_chan = call.to_int(0);
  conv.filter_shape = call.to_int_list(1, 1, 2, false);
  if (call.given(2)) conv.strides = call.to_int_list(2, 1, 2, true);
  if (call.given(3)) conv.padding = call.to_padding(3);
  if (call.given(4)) conv.W_std = call.to_float(4);
  if (call.given(5)) conv.b_std = call.to_optional_float(5);
  if (call.given(6) && call.value(6).kind != Value::Kind::None) {
    call.wrong_type(6, "None (ntkit's images are NHWC: batch, spatial axes, channels last)");
  }
  if (call.given(7)) conv.parameterization = call.to_parameterization(7);
  if (call.given(8)) {
    const std::vector<int> s = call.to_int_list(8, 2, 2, false);
    if (s[0] != 1 || s[1] != 1) call.wrong_type(8, "(1, 1) (ntkit's networks have fixed input and output sizes)");
  }
  return call.checked(conv);
}

std::string print_layer(const ConvLayer& conv) {
  std::vector<std::string> arguments{std::to_string(conv.out_chan), format_tuple(conv.filter_shape)};
  const bool unit_strides = std::all_of(conv.strides.begin(), conv.strides.end(), [](int s) { return s == 1; });
  if (!unit_strides) arguments.push_back("strides=" + format_tuple(conv.strides));
  if (conv.padding != Padding::Valid) arguments.push_back(std::string("padding='") + padding_name(conv.padding) + "'");
  if (conv.W_std != 1.0) arguments.push_back("W_std=" + format_number(conv.W_std));
  if (conv.b_std) arguments.push_back("b_std=" + format_number(*conv.b_std));
  if (conv.parameterization == Parameterization::Standard) arguments.push_back("parameterization='standard'");
  return join_arguments("Conv", arguments);
}

void check_arguments(const ConvLayer& conv, std::string* bad) {
  if (conv.out_chan < 1) bad_argument("Conv", "out_chan", "a positive integer", std::to_string(conv.out_chan), bad);
  check_window("Conv", "filter_shape", conv.filter_shape, bad);
  check_strides("Conv", conv.strides, conv.filter_shape.size(), bad);
  if (!std::isfinite(conv.W_std) || conv.W_std < 0) {
    bad_argument("Conv", "W_std", "a finite number ≥ 0", format_number(conv.W_std), bad);
  }
  if (conv.b_std && (!std::isfinite(*conv.b_std) || *conv.b_std < 0)) {
    bad_argument("Conv", "b_std", "a finite number ≥ 0, or None for no bias", format_number(*conv.b_std), bad);
  }
}

std::optional<NetworkProblem> check_structure(const ConvLayer&, const std::vector<int>& path, StructureWalk& walk) {
  if (auto problem = needs_single_input("'Conv'", walk, path)) return problem;
  walk.streams.front() = StructureStream{true, true};  // a Conv's output is Gaussian, as a Dense's
  walk.any_dense = true;
  return std::nullopt;
}

}  // namespace ntkit::detail

namespace ntkit {
Layer Conv(int out_chan, std::vector<int> filter_shape, std::vector<int> strides, Padding padding, double W_std,
           std::optional<double> b_std, Parameterization parameterization) {
  return detail::checked_layer(
      ConvLayer{out_chan, std::move(filter_shape), std::move(strides), padding, W_std, b_std, parameterization});
}
}  // namespace ntkit

namespace ntkit::detail {

// ---- Infinite width --------------------------------------------------------------------------

void compile_kernel(const ConvLayer& conv, KernelNode& node, KernelCompiler& compiler) {
  node.windows = make_windows(print_layer(conv), node.in_dims, conv.filter_shape, conv.strides, conv.padding);
  std::vector<int>& dims = compiler.dims.front();
  for (std::size_t a = 0; a < dims.size(); ++a) dims[a] = node.windows[a].size_out;
  node.fixed = compiler.next_dense_is_fixed();
}

void plan_kernel(const ConvLayer&, KernelNode& node, KernelPlanner& planner, std::vector<Radii>& needs) {
  const Radii after = needs.front();
  Radii before;
  for (std::size_t a = 0; a < after.size(); ++a) before.push_back(radius_before_convolution(node.windows[a], after[a]));
  const auto in = planner.layout(node.in_dims, before);
  node.out_layout = planner.layout(node.out_dims, after);
  std::vector<AxisMap> axes;
  for (std::size_t a = 0; a < after.size(); ++a) {
    axes.push_back(convolution_map(node.windows[a], in->axes[a], node.out_layout->axes[a]));
  }
  node.map = make_spatial_map(std::move(axes));
  needs.front() = before;
}

void apply_kernel(const ConvLayer& conv, const KernelNode& node, KernelPass& pass, std::vector<KernelStream>& streams) {
  KernelStream& s = streams.front();  // one input (validated)
  // The mean over the filter of K and Θ (both positions shifted alike), then Dense's rule with
  // the fan-in C·|filter|.
  double filter = 1;
  for (int f : conv.filter_shape) filter *= f;
  const AffineKernel affine{conv.W_std, conv.b_std, conv.parameterization, static_cast<double>(s.width) * filter, node.fixed};
  pass.remap(s, node.map, node.out_layout.get());
  apply_affine_kernel(s, pass.size(s), affine, pass.ntk());
  s.width = conv.out_chan;
}

}  // namespace ntkit::detail
