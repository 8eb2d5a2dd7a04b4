// ntkit kernel: a classic kernel matrix K(X1, X2), or K(X, X) when --x2 is absent.
#include <filesystem>
#include <memory>

#include "cli_support.hpp"
#include "commands.hpp"
#include "ntkit/analytic.hpp"
#include "ntkit/error.hpp"
#include "ntkit/network.hpp"

namespace ntkit::cli {
namespace {

struct KernelCommand {
  KernelOptions kernel;
  std::string x1, x2, output, dtype = "float64";
  std::string arch, get = "ntk";
};

// "K.npy" → "K.nngp.npy" (for --get both).
std::string with_suffix(const std::string& path, const std::string& suffix) {
  const std::filesystem::path p(path);
  return (p.parent_path() / (p.stem().string() + "." + suffix + p.extension().string())).string();
}

void write_as(const std::string& path, const RowMatrixD& k, DType dtype) {
  if (dtype == DType::Float64) {
    write_matrix(path, k);
  } else {
    const RowMatrixF kf = k.cast<float>();
    write_matrix(path, kf);
  }
}

// --arch: the infinite-width NNGP / NTK of a deep network (computed in float64).
void run_arch(const KernelCommand& cmd, const RowMatrixD& x1, const RowMatrixD& x2, DType dtype) {
  if (cmd.get != "ntk" && cmd.get != "nngp" && cmd.get != "both")
    throw Error("--get: unknown value '" + cmd.get + "'; choose ntk, nngp or both");
  const Network network = parse_network(cmd.arch);
  AnalyticOptions options;
  options.ntk = cmd.get != "nngp";
  options.nngp = cmd.get != "ntk";
  const AnalyticKernels k = cmd.x2.empty() ? analytic_kernels(network, x1, options)
                                           : analytic_kernels(network, x1, x2, options);
  if (cmd.get == "both") {
    write_as(with_suffix(cmd.output, "nngp"), k.nngp, dtype);
    write_as(with_suffix(cmd.output, "ntk"), k.ntk, dtype);
  } else {
    write_as(cmd.output, cmd.get == "ntk" ? k.ntk : k.nngp, dtype);
  }
}

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
  if (!cmd.arch.empty()) return run_arch(cmd, x1, x2, dtype);
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
  sub->add_option("--arch", cmd->arch,
                  "a deep network, e.g. \"Dense(512, W_std=1.5, b_std=0.05), Relu, Dense(1)\": its "
                  "infinite-width kernel instead of a classic one (neural-tangents' layer names)");
  sub->add_option("--get", cmd->get,
                  "with --arch: ntk, nngp, or both (writes OUT.nngp.EXT and OUT.ntk.EXT)")
      ->capture_default_str();
  sub->add_option("--dtype", cmd->dtype,
                  "float64 or float32 (classic kernels compute in it; --arch computes in float64)")
      ->capture_default_str();
  sub->add_option("-o,--output", cmd->output, "output file: .npy, .csv or .txt")->required();
  sub->callback([cmd] { run(*cmd); });
}

}  // namespace ntkit::cli
