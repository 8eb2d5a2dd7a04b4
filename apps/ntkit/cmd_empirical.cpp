// ntkit empirical: the empirical NTK / NNGP of finite networks drawn from --arch (widths from its
// Dense layers), averaged over --samples networks (mlp_kernel.hpp).
#include <filesystem>
#include <memory>

#include "cli_support.hpp"
#include "commands.hpp"
#include "ntkit/error.hpp"
#include "ntkit/mlp.hpp"
#include "ntkit/mlp_kernel.hpp"
#include "ntkit/network.hpp"

#ifdef NTKIT_WITH_MPI
#include "mpi_commands.hpp"
#endif

namespace ntkit::cli {
namespace {

struct EmpiricalCommand {
  std::string arch, x1, x2, get = "ntk", output, dtype = "float64", params_out;
  int samples = 1;
  std::uint64_t seed = 0;
  bool full_logits = false;
  int block_size = kDefaultBlockSize;
};

void run(const EmpiricalCommand& cmd) {
  check_output_path(cmd.output);
  const DType dtype = parse_float_dtype(cmd.dtype);
  if (cmd.get != "ntk" && cmd.get != "nngp" && cmd.get != "both")
    throw Error("--get: unknown value '" + cmd.get + "'; choose ntk, nngp or both");
  if (cmd.get == "both") {  // the files actually written
    check_output_path(with_suffix(cmd.output, "nngp"));
    check_output_path(with_suffix(cmd.output, "ntk"));
  }
  if (cmd.samples < 1) throw Error("--samples: must be >= 1 (networks to average over), got " + std::to_string(cmd.samples));
  if (!cmd.params_out.empty()) {
    if (cmd.samples != 1) throw Error("--params-out: saves one network's parameters; use it with --samples 1");
    if (std::filesystem::path(cmd.params_out).extension() != ".npy")
      throw Error("--params-out: " + cmd.params_out + ": the parameters are written as .npy; use that extension");
    check_output_path(cmd.params_out);
  }
  const Network network = parse_network(cmd.arch);
  // Images and signals keep their shape (Conv, pools, Flatten); Dense acts on the channels.
  const Examples e1 = load_examples(cmd.x1);
  Examples e2;
  if (!cmd.x2.empty()) {
    e2 = load_examples(cmd.x2);
    require_same_example_shape(e1, "--x1 " + cmd.x1, e2, cmd.x2);
  }
  const RowMatrixD& x1 = e1.x;
  const RowMatrixD& x2 = e2.x;
  EmpiricalOptions options;
  options.ntk = cmd.get != "nngp";
  options.nngp = cmd.get != "ntk";
  options.full_logits = cmd.full_logits;
  options.input_shape = e1.input_shape();
#ifdef NTKIT_WITH_MPI
  // Under mpirun: every rank computes its blocks (the same --samples networks on every rank,
  // drawn from --seed), written together with MPI-IO.
  if (distributed_run()) {
    if (cmd.full_logits) throw_not_distributed("--full-logits");
    if (!cmd.params_out.empty()) throw_not_distributed("--params-out");
    check_distributed_kernel_options(cmd.output, cmd.block_size);
    std::vector<std::string> paths;
    const bool both = cmd.get == "both";
    if (options.nngp) paths.push_back(both ? with_suffix(cmd.output, "nngp") : cmd.output);
    if (options.ntk) paths.push_back(both ? with_suffix(cmd.output, "ntk") : cmd.output);
    const int samples = cmd.samples;
    const std::uint64_t seed = cmd.seed;
    const distributed::BlockKernels kernels = [network, options, samples, seed](MatrixView<double> rows,
                                                                                const MatrixView<double>* cols) {
      const EmpiricalKernels k = cols == nullptr ? monte_carlo_kernels(network, rows, samples, seed, options)
                                                 : monte_carlo_kernels(network, rows, *cols, samples, seed, options);
      std::vector<RowMatrixD> out;
      if (options.nngp) out.push_back(k.nngp);
      if (options.ntk) out.push_back(k.ntk);
      return out;
    };
    require_same_inputs({&x1, &x2}, {"--x1 " + cmd.x1, "--x2 " + cmd.x2});
    write_kernels_distributed(x1, cmd.x2.empty() ? nullptr : &x2, kernels, paths, dtype, cmd.block_size, "empirical", true);
    return;
  }
#endif
  const bool symmetric = cmd.x2.empty();
  const EmpiricalKernels k = symmetric ? monte_carlo_kernels(network, x1, cmd.samples, cmd.seed, options)
                                       : monte_carlo_kernels(network, x1, x2, cmd.samples, cmd.seed, options);
  OutputSet outputs;  // the kernels and the parameters appear together or not at all
  if (cmd.get == "both") {
    add_as(outputs, with_suffix(cmd.output, "nngp"), k.nngp, dtype);
    add_as(outputs, with_suffix(cmd.output, "ntk"), k.ntk, dtype);
  } else {
    add_as(outputs, cmd.output, cmd.get == "ntk" ? k.ntk : k.nngp, dtype);
  }
  if (!cmd.params_out.empty()) {  // the one network of --samples 1
    const Mlp net(network, e1.shape, monte_carlo_seed(cmd.seed, 0));
    outputs.add_matrix(cmd.params_out, RowMatrixD(net.parameters()), DType::Float64, true);
  }
  outputs.commit();
}

}  // namespace

void register_empirical_command(CLI::App& app) {
  auto cmd = std::make_shared<EmpiricalCommand>();
  CLI::App* sub = app.add_subcommand(
      "empirical", "Empirical NTK / NNGP of finite networks drawn from --arch, averaged over --samples networks");
  sub->add_option("--arch", cmd->arch,
                  "the network, e.g. \"Dense(512, W_std=1.5, b_std=0.05), Relu, Dense(1)\" (neural-tangents' "
                  "layer names; widths from its Dense layers)")
      ->required();
  sub->footer(kInputsHelp);
  sub->add_option("--x1", cmd->x1,
                  "first input: n1 x d (.npy or .csv), images (N, H, W, C) or signals (N, L, C) (.npy, IDX); "
                  "FILE[:N] for its first N rows (see Inputs below)")
      ->required();
  sub->add_option("--x2", cmd->x2, "second input, n2 x d (default: --x1, and K is symmetric)");
  sub->add_option("--block-size", cmd->block_size,
                  "under mpirun: rows and columns per block of the 2-D block-cyclic layout that spreads the kernel "
                  "over the ranks (ignored in one process)")
      ->capture_default_str();
  sub->add_option("--get", cmd->get, "ntk, nngp, or both (writes OUT.nngp.EXT and OUT.ntk.EXT)")->capture_default_str();
  sub->add_option("--samples", cmd->samples, "average over this many independently drawn networks")->capture_default_str();
  sub->add_option("--seed", cmd->seed, "seed of the networks (network s uses a seed mixed from it and s)")
      ->capture_default_str();
  sub->add_flag("--full-logits", cmd->full_logits,
                "with O outputs: the (n1·O) x (n2·O) kernel of every logit pair, row i·O + o, instead of the "
                "average over logits");
  sub->add_option("--params-out", cmd->params_out,
                  "also write the network's parameters (with --samples 1) as a .npy vector: per Dense, W "
                  "(out x in, row-major), then b if it has one");
  sub->add_option("--dtype", cmd->dtype, "float64 or float32 output (computed in float64)")->capture_default_str();
  sub->add_option("-o,--output", cmd->output, "output file: .npy, .csv or .txt")->required();
  sub->callback([cmd] { run(*cmd); });
}

}  // namespace ntkit::cli
