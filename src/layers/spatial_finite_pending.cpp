// Finite-width rules of the spatial layers (Conv, pools, Flatten, global pools): being written
// (issue 16); until then a finite network with these layers is a clear error.
#include "layer_rules.hpp"
#include "ntkit/error.hpp"

namespace ntkit::detail {
namespace {
[[noreturn]] void pending(const Layer& layer) {
  throw Error("finite-width networks with " + to_string(layer) +
              " are not available yet (the infinite-width kernels are: ntkit kernel / analytic_kernels)");
}
}  // namespace

#define NTKIT_PENDING_FINITE(L)                                                                                 \
  void compile_finite(const L& layer, MlpNode&, FiniteCompiler&, std::vector<StreamShape>&) { pending(layer); } \
  void forward(const L& layer, const MlpNode&, ForwardPass&, std::vector<RowMatrixD>&) { pending(layer); }      \
  void backward(const L& layer, const MlpNode&, BackwardPass&, std::vector<RowMatrixD>&) { pending(layer); }    \
  void tangent(const L& layer, const MlpNode&, TangentPass&, std::vector<TangentStream>&) { pending(layer); }

NTKIT_PENDING_FINITE(ConvLayer)
NTKIT_PENDING_FINITE(PoolLayer)
NTKIT_PENDING_FINITE(GlobalPoolLayer)
NTKIT_PENDING_FINITE(FlattenLayer)

}  // namespace ntkit::detail
