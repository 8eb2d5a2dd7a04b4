#include "ntkit/linear_model.hpp"

#include <cmath>
#include <sstream>

#include "ntkit/error.hpp"

namespace ntkit {
namespace {

void require_learning_rate(double learning_rate, const char* who) {
  if (!(learning_rate > 0) || !std::isfinite(learning_rate)) {
    std::ostringstream msg;
    msg << who << ": learning rate must be a finite number > 0, got " << learning_rate;
    throw Error(msg.str());
  }
}

void require_shape(const RowMatrixD& m, Eigen::Index rows, Eigen::Index cols, const char* who, const char* what) {
  if (m.rows() != rows || m.cols() != cols) {
    std::ostringstream msg;
    msg << who << ": " << what << " is " << m.rows() << " x " << m.cols() << ", expected " << rows << " x " << cols;
    throw Error(msg.str());
  }
}

}  // namespace

FeatureSpaceRegression::FeatureSpaceRegression(RowMatrixD features, RowMatrixD targets, RowMatrixD initial_weights)
    : features_(std::move(features)), targets_(std::move(targets)), weights_(std::move(initial_weights)) {
  const char* who = "FeatureSpaceRegression";
  if (targets_.rows() != features_.rows()) {
    std::ostringstream msg;
    msg << who << ": features have " << features_.rows() << " rows but targets have " << targets_.rows()
        << "; need one target row per example";
    throw Error(msg.str());
  }
  if (weights_.size() == 0) weights_ = RowMatrixD::Zero(features_.cols(), targets_.cols());
  require_shape(weights_, features_.cols(), targets_.cols(), who, "initial weights");
}

void FeatureSpaceRegression::step(double learning_rate) {
  require_learning_rate(learning_rate, "FeatureSpaceRegression::step");
  const RowMatrixD residual = features_ * weights_ - targets_;
  weights_.noalias() -= learning_rate * (features_.transpose() * residual);
}

RowMatrixD FeatureSpaceRegression::predict(MatrixView<double> features) const {
  if (features.cols() != features_.cols()) {
    std::ostringstream msg;
    msg << "FeatureSpaceRegression::predict: features have " << features.cols() << " columns, the model has "
        << features_.cols();
    throw Error(msg.str());
  }
  return features * weights_;
}

RowMatrixD FeatureSpaceRegression::train_outputs() const { return features_ * weights_; }

double FeatureSpaceRegression::loss() const { return 0.5 * (train_outputs() - targets_).squaredNorm(); }

DualKernelRegression::DualKernelRegression(RowMatrixD kernel, RowMatrixD targets, RowMatrixD initial_train_outputs)
    : kernel_(std::move(kernel)), targets_(std::move(targets)), initial_train_outputs_(std::move(initial_train_outputs)) {
  const char* who = "DualKernelRegression";
  const Eigen::Index n = kernel_.rows();
  require_shape(kernel_, n, n, who, "kernel K(X, X)");
  if (targets_.rows() != n) {
    std::ostringstream msg;
    msg << who << ": kernel is " << n << " x " << n << " but targets have " << targets_.rows()
        << " rows; need one target row per training example";
    throw Error(msg.str());
  }
  if (initial_train_outputs_.size() == 0) initial_train_outputs_ = RowMatrixD::Zero(n, targets_.cols());
  require_shape(initial_train_outputs_, n, targets_.cols(), who, "initial outputs f0(X)");
  coefficients_ = RowMatrixD::Zero(n, targets_.cols());
}

void DualKernelRegression::step(double learning_rate) {
  require_learning_rate(learning_rate, "DualKernelRegression::step");
  coefficients_.noalias() -= learning_rate * (train_outputs() - targets_);
}

RowMatrixD DualKernelRegression::predict(MatrixView<double> cross_kernel, const RowMatrixD& initial_outputs) const {
  if (cross_kernel.cols() != kernel_.rows()) {
    std::ostringstream msg;
    msg << "DualKernelRegression::predict: cross kernel has " << cross_kernel.cols()
        << " columns, expected one per training example (" << kernel_.rows() << ")";
    throw Error(msg.str());
  }
  RowMatrixD out = cross_kernel * coefficients_;
  if (initial_outputs.size() != 0) {
    require_shape(initial_outputs, out.rows(), out.cols(), "DualKernelRegression::predict", "initial outputs f0(X*)");
    out += initial_outputs;
  }
  return out;
}

RowMatrixD DualKernelRegression::train_outputs() const { return initial_train_outputs_ + kernel_ * coefficients_; }

double DualKernelRegression::loss() const { return 0.5 * (train_outputs() - targets_).squaredNorm(); }

}  // namespace ntkit
