// ntkit kernel: a classic kernel matrix K(X1, X2), or K(X, X) when --x2 is absent; with --arch
// the infinite-width NNGP / NTK of a deep network.
#include <cctype>
#include <filesystem>
#include <memory>

#include "cli_support.hpp"
#include "commands.hpp"
#include "ntkit/analytic.hpp"
#include "ntkit/error.hpp"
#include "ntkit/network.hpp"
#include "progress_bar.hpp"

#ifdef NTKIT_WITH_MPI
#include "mpi_commands.hpp"
#endif

namespace ntkit::cli {
namespace {

struct KernelCommand {
  KernelOptions kernel;
  std::string x1, x2, output, dtype = "float64";
  std::string arch, get = "ntk";
  bool quiet = false;
  bool diagonal = false;
  Eigen::Index panel_rows = 0;
  int quadrature_degree = 0;
  int fixed_layers = 0;
  int block_size = kDefaultBlockSize;
  const CLI::Option* fixed_layers_option = nullptr;
};

bool has_npy_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".npy";
}

// --arch: the infinite-width NNGP / NTK of a deep network, computed in --dtype (see
// analytic.hpp: float32 keeps the per-pair recursion in float64). A .npy output is written
// panel by panel into a memory-mapped file, so kernels larger than memory work.
// --arch's options, checked: which kernels, the quadrature, the fixed layers, the input shape.
AnalyticOptions arch_options(const KernelCommand& cmd, const Network& network, const std::vector<int>& input_shape) {
  if (cmd.get != "ntk" && cmd.get != "nngp" && cmd.get != "both")
    throw Error("--get: unknown value '" + cmd.get + "'; choose ntk, nngp or both");
  if (cmd.panel_rows < 0) throw Error("--panel-rows: must be ≥ 0 (0 chooses automatically)");
  if (cmd.quadrature_degree < 0 || cmd.quadrature_degree > 200)
    throw Error("--quadrature-degree: must be 0 (adaptive rule) or a Gauss–Hermite degree in 1..200");
  if (cmd.fixed_layers_option->count() > 0) {
    if (cmd.get == "nngp") throw Error("--fixed-layers: fixing layers changes only the NTK; use --get ntk or both");
    const int dense = dense_layer_count(network);
    if (cmd.fixed_layers < 0 || cmd.fixed_layers >= dense)
      throw Error("--fixed-layers: " + std::to_string(cmd.fixed_layers) + " but --arch has " + std::to_string(dense) +
                  " Dense layers; give 0 (all trained) to " + std::to_string(dense - 1) + " (only the last trained)");
  }
  AnalyticOptions options;
  options.ntk = cmd.get != "nngp";
  options.nngp = cmd.get != "ntk";
  options.panel_rows = cmd.panel_rows;
  options.quadrature_degree = cmd.quadrature_degree;
  options.fixed_layers = cmd.fixed_layers;
  options.input_shape = input_shape;
  return options;
}

void run_arch(const KernelCommand& cmd, const RowMatrixD& x1, const RowMatrixD& x2, const std::vector<int>& input_shape,
              DType dtype) {
  const Network network = parse_network(cmd.arch);
  AnalyticOptions options = arch_options(cmd, network, input_shape);
  ProgressBar bar("kernel", cmd.quiet);
  options.progress = bar.callback();
  const bool both = cmd.get == "both";
  if (cmd.diagonal) {  // K(x_i, x_i) only: a vector of n values, O(n · depth)
    if (!cmd.x2.empty()) throw Error("--diagonal: K(x, x) of --x1's points only; remove --x2");
    const AnalyticDiagonal diag = analytic_kernel_diagonal(network, x1, options);
    OutputSet outputs;
    if (options.nngp) outputs.add_matrix(both ? with_suffix(cmd.output, "nngp") : cmd.output, diag.nngp, dtype, true);
    if (options.ntk) outputs.add_matrix(both ? with_suffix(cmd.output, "ntk") : cmd.output, diag.ntk, dtype, true);
    outputs.commit();
    return;
  }
  const std::string nngp_path = both ? with_suffix(cmd.output, "nngp") : cmd.output;
  const std::string ntk_path = both ? with_suffix(cmd.output, "ntk") : cmd.output;
  const MatrixView<double> x2_view(x2);
  const MatrixView<double>* x2_ptr = cmd.x2.empty() ? nullptr : &x2_view;
  if (has_npy_extension(cmd.output)) {
    AnalyticOutputFiles files;
    if (options.nngp) files.nngp = nngp_path;
    if (options.ntk) files.ntk = ntk_path;
    write_analytic_kernels_npy(network, x1, x2_ptr, dtype, files, options);
    return;
  }
  // Text output: the whole matrix in memory (text of a large kernel is impractical anyway).
  const AnalyticKernels k = x2_ptr == nullptr ? analytic_kernels(network, x1, options)
                                              : analytic_kernels(network, x1, x2, options);
  OutputSet outputs;
  if (options.nngp) add_as(outputs, nngp_path, k.nngp, dtype);
  if (options.ntk) add_as(outputs, ntk_path, k.ntk, dtype);
  outputs.commit();
}

#ifdef NTKIT_WITH_MPI
// Under mpirun: every rank computes its blocks of the kernel, written together with MPI-IO.
void run_distributed(const KernelCommand& cmd, const Examples& e1, const Examples& e2, DType dtype) {
  if (cmd.diagonal) throw_not_distributed("--diagonal (O(n) work)");
  check_distributed_kernel_options(cmd.output, cmd.block_size);
  distributed::BlockKernels kernels;
  std::vector<std::string> paths;
  if (!cmd.arch.empty()) {
    const Network network = parse_network(cmd.arch);
    const AnalyticOptions options = arch_options(cmd, network, e1.input_shape());
    const bool both = cmd.get == "both";
    if (options.nngp) paths.push_back(both ? with_suffix(cmd.output, "nngp") : cmd.output);
    if (options.ntk) paths.push_back(both ? with_suffix(cmd.output, "ntk") : cmd.output);
    // float32: the library's float32 path (float32 Gram, float64 recursion), as one process.
    kernels = [network, options, dtype](MatrixView<double> rows, const MatrixView<double>* cols) {
      std::vector<RowMatrixD> out;
      const auto keep = [&](auto&& k) {
        if (options.nngp) out.push_back(k.nngp.template cast<double>());
        if (options.ntk) out.push_back(k.ntk.template cast<double>());
      };
      if (dtype == DType::Float32) {
        const RowMatrixF r = rows.cast<float>();
        if (cols == nullptr) keep(analytic_kernels(network, MatrixView<float>(r), options));
        else
          keep(analytic_kernels(network, MatrixView<float>(r), MatrixView<float>(RowMatrixF(cols->cast<float>())), options));
      } else {
        keep(cols == nullptr ? analytic_kernels(network, rows, options) : analytic_kernels(network, rows, *cols, options));
      }
      return out;
    };
  } else {
    const KernelSpec spec = make_kernel_spec(cmd.kernel, e1.x.cols());
    paths.push_back(cmd.output);
    kernels = [spec, dtype](MatrixView<double> rows, const MatrixView<double>* cols) {
      if (dtype == DType::Float32) {
        const RowMatrixF r = rows.cast<float>();
        const RowMatrixF k = cols == nullptr ? kernel_matrix<float>(spec, r)
                                             : kernel_matrix<float>(spec, r, RowMatrixF(cols->cast<float>()));
        return std::vector<RowMatrixD>{k.cast<double>()};
      }
      return std::vector<RowMatrixD>{cols == nullptr ? kernel_matrix<double>(spec, rows)
                                                     : kernel_matrix<double>(spec, rows, *cols)};
    };
  }
  require_same_inputs({&e1.x, &e2.x}, {"--x1 " + cmd.x1, "--x2 " + cmd.x2});
  write_kernels_distributed(e1.x, cmd.x2.empty() ? nullptr : &e2.x, kernels, paths, dtype, cmd.block_size, "kernel",
                            cmd.quiet);
}
#endif

void run(const KernelCommand& cmd) {
  if (cmd.arch.empty() && cmd.fixed_layers_option->count() > 0)
    throw Error("--fixed-layers: applies to a network's NTK; add --arch");
  check_output_path(cmd.output);
  if (!cmd.arch.empty() && cmd.get == "both") {  // the files actually written
    check_output_path(with_suffix(cmd.output, "nngp"));
    check_output_path(with_suffix(cmd.output, "ntk"));
  }
  const DType dtype = parse_float_dtype(cmd.dtype);
  // Images and signals keep their shape for --arch (Conv, pools, Flatten); classic kernels see
  // each example flattened.
  const Examples e1 = load_examples(cmd.x1);
  Examples e2;
  if (!cmd.x2.empty()) {
    e2 = load_examples(cmd.x2);
    require_same_example_shape(e1, "--x1 " + cmd.x1, e2, cmd.x2);
  }
#ifdef NTKIT_WITH_MPI
  if (distributed_run()) return run_distributed(cmd, e1, e2, dtype);
#endif
  const RowMatrixD& x1 = e1.x;
  const RowMatrixD& x2 = e2.x;
  if (!cmd.arch.empty()) return run_arch(cmd, x1, x2, e1.input_shape(), dtype);
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
      "kernel",
      "Kernel matrix K(X1, X2) (K(X1, X1) without --x2): a classic kernel, or with --arch a deep network's "
      "infinite-width NNGP/NTK; output format from -o's extension");
  add_kernel_options(*sub, cmd->kernel);
  sub->footer(kInputsHelp);
  sub->add_option("--x1", cmd->x1,
                  "first input: n1 x d (.npy or .csv), images (N, H, W, C) or signals (N, L, C) (.npy, IDX); "
                  "FILE[:N] for its first N rows (see Inputs below)")
      ->required();
  sub->add_option("--x2", cmd->x2, "second input, n2 examples of the same shape (default: --x1, and K is symmetric)");
  sub->add_option("--arch", cmd->arch,
                  "a deep network, e.g. \"Dense(512, W_std=1.5, b_std=0.05), Relu, Dense(1)\": its "
                  "infinite-width kernel instead of a classic one (neural-tangents' layer names)");
  sub->add_option("--get", cmd->get, "with --arch: ntk, nngp, or both (writes OUT.nngp.EXT and OUT.ntk.EXT)")
      ->capture_default_str();
  sub->add_option("--dtype", cmd->dtype,
                  "float64 or float32: the computation and the output (with --arch, float32 keeps "
                  "the per-pair layer recursion in float64)")
      ->capture_default_str();
  sub->add_option("--panel-rows", cmd->panel_rows,
                  "with --arch: output rows computed per BLAS panel (0: automatic; a .npy output "
                  "is written through a memory map about 1 GiB of rows at a time)")
      ->capture_default_str();
  sub->add_option("--quadrature-degree", cmd->quadrature_degree,
                  "with --arch, for Tanh/Softplus/Silu/Elu/Selu: 0 = a rule adapted to each entry "
                  "(accurate at any variance), N = N-point Gauss-Hermite (neural-tangents' "
                  "ElementwiseNumerical(deg=N))")
      ->capture_default_str();
  cmd->fixed_layers_option = sub->add_option(
                                    "--fixed-layers", cmd->fixed_layers,
                                    "with --arch: the NTK of the network whose first L' Dense layers are fixed (not trained; "
                                    "Arora et al. 2020); 0 trains all, L' = (Dense layers - 1) leaves only the readout")
                                 ->capture_default_str();
  sub->add_flag("--diagonal", cmd->diagonal,
                "with --arch: only K(x, x) for each point of --x1, a vector of n values (fast: no Gram "
                "matrix)");
  sub->add_option("--block-size", cmd->block_size,
                  "under mpirun: rows and columns per block of the 2-D block-cyclic layout that spreads the kernel "
                  "over the ranks (ignored in one process)")
      ->capture_default_str();
  sub->add_flag("-q,--quiet", cmd->quiet, "no progress bar (it shows on a terminal for runs over a second)");
  sub->add_option("-o,--output", cmd->output, "output file: .npy, .csv or .txt")->required();
  sub->callback([cmd] { run(*cmd); });
}

}  // namespace ntkit::cli
