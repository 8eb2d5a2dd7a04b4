// ntkit features: the explicit polynomial feature map φ with ⟨φ(x), φ(y)⟩ = (c + x·y)^p.
#include <memory>

#include "cli_support.hpp"
#include "commands.hpp"
#include "ntkit/error.hpp"
#include "ntkit/feature_map.hpp"

namespace ntkit::cli {
namespace {

struct FeaturesCommand {
  std::string map = "polynomial", x, output;
  int degree = 2;
  double c = 1.0;
};

void run(const FeaturesCommand& cmd) {
  if (cmd.map != "polynomial") {
    throw Error("--map: unknown feature map '" + cmd.map + "'; the explicit map available is: polynomial");
  }
  check_output_path(cmd.output);
  const RowMatrixD x = load_matrix(cmd.x);
  const PolynomialFeatureMap map(static_cast<int>(x.cols()), cmd.degree, cmd.c);
  write_matrix(cmd.output, map.transform(x));
}

}  // namespace

void register_features_command(CLI::App& app) {
  auto cmd = std::make_shared<FeaturesCommand>();
  CLI::App* sub = app.add_subcommand("features",
                                     "Explicit polynomial feature map Φ (n x C(d+p, p)) with ΦΦᵀ = polynomial kernel");
  sub->add_option("--map", cmd->map, "feature map: polynomial")->capture_default_str();
  sub->add_option("--degree", cmd->degree, "degree p")->capture_default_str();
  sub->add_option("--c", cmd->c, "offset c >= 0")->capture_default_str();
  sub->add_option("--x", cmd->x, "input, n x d (.npy or .csv)")->required();
  sub->add_option("-o,--output", cmd->output, "output file: .npy, .csv or .txt")->required();
  sub->callback([cmd] { run(*cmd); });
}

}  // namespace ntkit::cli
