// ntkit kernel: a classic kernel matrix K(X1, X2), or K(X, X) when --x2 is absent.
#include <memory>

#include "cli_support.hpp"
#include "commands.hpp"
#include "ntkit/error.hpp"

namespace ntkit::cli {
namespace {

struct KernelCommand {
  KernelOptions kernel;
  std::string x1, x2, output, dtype = "float64";
};

void run(const KernelCommand& cmd) {
  check_output_path(cmd.output);
  const DType dtype = parse_float_dtype(cmd.dtype);
  const RowMatrixD x1 = load_matrix(cmd.x1);
  RowMatrixD x2;
  if (!cmd.x2.empty()) {
    x2 = load_matrix(cmd.x2);
    if (x2.cols() != x1.cols()) {
      throw Error(cmd.x2 + ": has " + std::to_string(x2.cols()) + " columns but --x1 " + cmd.x1 +
                  " has " + std::to_string(x1.cols()) + "; both need the same number of features");
    }
  }
  const KernelSpec spec = make_kernel_spec(cmd.kernel, x1.cols());
  const bool symmetric = cmd.x2.empty();
  if (dtype == DType::Float64) {
    const RowMatrixD k = symmetric ? kernel_matrix<double>(spec, x1) : kernel_matrix<double>(spec, x1, x2);
    write_matrix(cmd.output, k);
  } else {
    const RowMatrixF x1f = x1.cast<float>();
    const RowMatrixF x2f = x2.cast<float>();
    const RowMatrixF k = symmetric ? kernel_matrix<float>(spec, x1f) : kernel_matrix<float>(spec, x1f, x2f);
    write_matrix(cmd.output, k);
  }
}

}  // namespace

void register_kernel_command(CLI::App& app) {
  auto cmd = std::make_shared<KernelCommand>();
  CLI::App* sub = app.add_subcommand(
      "kernel", "Classic kernel matrix K(X1, X2) (K(X1, X1) without --x2); output format from -o's extension");
  add_kernel_options(*sub, cmd->kernel);
  sub->add_option("--x1", cmd->x1, "first input, n1 x d (.npy or .csv)")->required();
  sub->add_option("--x2", cmd->x2, "second input, n2 x d (default: --x1, and K is symmetric)");
  sub->add_option("--dtype", cmd->dtype, "float64 or float32 (computation and output)")
      ->capture_default_str();
  sub->add_option("-o,--output", cmd->output, "output file: .npy, .csv or .txt")->required();
  sub->callback([cmd] { run(*cmd); });
}

}  // namespace ntkit::cli
