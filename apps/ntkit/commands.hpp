// Each subcommand of the tool registers itself on the top-level app.
#pragma once

#include <CLI/CLI.hpp>

namespace ntkit::cli {

void register_kernel_command(CLI::App& app);
void register_features_command(CLI::App& app);
void register_ridge_command(CLI::App& app);
void register_classic_demo_command(CLI::App& app);
void register_two_layer_command(CLI::App& app);
void register_demo_command(CLI::App& app);
void register_image_demo_command(CLI::App& app);
void register_empirical_command(CLI::App& app);
void register_train_command(CLI::App& app);
void register_predict_command(CLI::App& app);
void register_classify_commands(CLI::App& app);
void register_info_command(CLI::App& app);

}  // namespace ntkit::cli
