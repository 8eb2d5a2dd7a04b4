// ntkit: the command-line front end. Exit status 0 on success, 2 on a usage or input error
// (message on stderr, no output written), 1 on an unexpected internal failure.
#include <cstdio>
#include <exception>
#include <iostream>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "ntkit/error.hpp"
#include "ntkit/version.hpp"

int main(int argc, char** argv) {
  CLI::App app{"ntkit: Neural Tangent Kernels and classic kernel methods"};
  app.name("ntkit");
  app.set_version_flag("--version", std::string("ntkit ") + ntkit::version());
  app.require_subcommand(1);
  app.failure_message(CLI::FailureMessage::help);
  ntkit::cli::register_kernel_command(app);
  ntkit::cli::register_features_command(app);
  ntkit::cli::register_ridge_command(app);
  ntkit::cli::register_demo_command(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {  // also --help and --version, which exit 0
    return app.exit(e) == 0 ? 0 : 2;
  } catch (const ntkit::Error& e) {
    std::cerr << "ntkit: error: " << e.what() << "\n";
    return 2;
  } catch (const std::bad_alloc&) {
    std::cerr << "ntkit: error: out of memory; try a smaller problem or --dtype float32\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "ntkit: internal error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
