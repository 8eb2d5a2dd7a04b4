// The linearized network f_lin(w, x) = f(w0, x) + J(x)(w − w0): one forward-mode pass at w0
// gives both f(w0, X) and J(X)(w − w0); its gradient Jᵀ G is the network's vjp at w0.
#include <sstream>

#include "mlp_program.hpp"
#include "ntkit/error.hpp"
#include "ntkit/mlp_train.hpp"

namespace ntkit {

LinearizedMlp::LinearizedMlp(Mlp initial) : initial_(std::move(initial)), parameters_(initial_.parameters()) {}

RowMatrixD LinearizedMlp::forward(MatrixView<double> x) const {
  detail::require_inputs(x, initial_.input_dim(), "LinearizedMlp::forward", "x");
  const VectorD delta = parameters_ - initial_.parameters();
  RowMatrixD f0;
  RowMatrixD jv = initial_.jvp(x, delta, &f0);
  return f0 + jv;
}

void LinearizedMlp::set_parameters(VectorD parameters) {
  if (parameters.size() != parameters_.size()) {
    throw Error("LinearizedMlp::set_parameters: got " + std::to_string(parameters.size()) + " values but the network has " +
                std::to_string(parameters_.size()) + " parameters");
  }
  if (!parameters.allFinite()) throw Error("LinearizedMlp::set_parameters: parameters contain NaN or Inf");
  parameters_ = std::move(parameters);
}

}  // namespace ntkit
