// ntkit: the command-line front end. Exit status 0 on success, 2 on a usage or input error
// (message on stderr, no output written), 1 on an unexpected internal failure, 128 + N when
// interrupted by signal N (SIGINT: 130; SIGTERM, SIGHUP likewise): the temporary files of the
// outputs being written are removed, so the outputs are as before the run (a signal during the
// final renames of a command's outputs takes effect after them: then all are in place).
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <string>
#include <iostream>

#include <CLI/CLI.hpp>
#include <unistd.h>

#include "commands.hpp"
#include "option_checks.hpp"
#include "ntkit/blas_info.hpp"
#include "ntkit/error.hpp"
#include "ntkit/io.hpp"
#include "ntkit/version.hpp"

namespace {

// Settings that the libraries read once, when they load, before main runs; the tool sets them
// and re-executes itself (once: afterwards they are set). A user's own values are kept.
//
// OMP_WAIT_POLICY=passive: OpenMP's idle worker threads spin by default (GNU libgomp: up to
// ~300k iterations before sleeping). On a machine that other work shares, spinning threads take
// cores from it and from each other. Measured on 2 cores (`ntkit demo --seeds 1`): widths
// 512-4096 on an idle machine took 6.4-7.3 s wall and 10-12 s CPU spinning, 6.6-6.8 s wall and
// 6.4-6.7 s CPU passive; widths 512-1024 beside two busy processes, 10.6 s spinning and 8.6 s
// passive.
//
// OPENBLAS_THREAD_TIMEOUT=20: an idle OpenBLAS worker thread polls for work (sched_yield) for
// 2^28 cycles (~0.1 s) by default before it sleeps, also right after the library loads: in
// every run of the tool that took a core from the OpenMP threads for its first ~0.1 s. 2^20
// cycles (~0.3 ms) still covers the gaps between the BLAS calls of one LAPACK routine (dsyevd
// of a 3072 x 3072 matrix: 2.43 s against 2.51 s by default), and `ntkit kernel` of a depth-5
// network at n = 1024 / 2048 went from 0.196 / 0.401 s to 0.164 / 0.356 s.
//
// OPENBLAS_CORETYPE, only where OpenBLAS chose generic kernels on a CPU with AVX2 or AVX-512
// (Debian's 0.3.21 on CPUs newer than itself picks Prescott: 4x slower GEMM; blas_info.hpp).
// NTKIT_REPLACED_OPENBLAS_CORE records what it had chosen, for `ntkit info`.
void set_library_environment_and_reexecute(char** argv) {
  bool changed = false;
  if (std::getenv("OMP_WAIT_POLICY") == nullptr && setenv("OMP_WAIT_POLICY", "passive", 0) == 0) changed = true;
  if (std::getenv("OPENBLAS_THREAD_TIMEOUT") == nullptr && setenv("OPENBLAS_THREAD_TIMEOUT", "20", 0) == 0) changed = true;
  const std::string core = ntkit::detail::openblas_core_to_request();
  if (!core.empty()) {
    const std::string generic = ntkit::detail::loaded_openblas_core();
    if (setenv("OPENBLAS_CORETYPE", core.c_str(), 0) == 0 && setenv("NTKIT_REPLACED_OPENBLAS_CORE", generic.c_str(), 1) == 0)
      changed = true;
  }
  if (changed) execv("/proc/self/exe", argv);  // returns only on failure: then go on as we are
}

}  // namespace

int main(int argc, char** argv) {
  set_library_environment_and_reexecute(argv);
  ntkit::remove_temporaries_on_signals("ntkit");
  CLI::App app{"ntkit: Neural Tangent Kernels and classic kernel methods"};
  app.name("ntkit");
  // --version: the version, then the BLAS and its kernels (as `ntkit info`).
  app.set_version_flag("--version", [] {
    std::string text = std::string("ntkit ") + ntkit::version() + "\n" + ntkit::describe(ntkit::blas_info());
    text.pop_back();  // CLI11 ends the line
    return text;
  });
  app.require_subcommand(1);
  ntkit::cli::register_kernel_command(app);
  ntkit::cli::register_features_command(app);
  ntkit::cli::register_ridge_command(app);
  ntkit::cli::register_two_layer_command(app);
  ntkit::cli::register_predict_command(app);
  ntkit::cli::register_classify_commands(app);
  ntkit::cli::register_demo_command(app);
  ntkit::cli::register_classic_demo_command(app);
  ntkit::cli::register_image_demo_command(app);
  ntkit::cli::register_empirical_command(app);
  ntkit::cli::register_train_command(app);
  ntkit::cli::register_info_command(app);
  ntkit::cli::add_option_checks(app);

  // An unknown command would otherwise be reported as a missing one; name it.
  if (argc > 1 && argv[1][0] != '-') {
    const CLI::App& top = app;
    const auto commands = top.get_subcommands(std::function<bool(const CLI::App*)>([](const CLI::App*) { return true; }));
    std::string names;
    bool known = false;
    for (const CLI::App* sub : commands) {
      names += " " + sub->get_name();
      known = known || sub->get_name() == argv[1];
    }
    if (!known) {
      std::cerr << "ntkit: error: unknown command '" << argv[1] << "'; the commands are:" << names << " (see ntkit --help)\n";
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line in the tool's error format, pointing at the command's help.
    std::string command = "ntkit";
    for (const CLI::App* sub = &app; sub != nullptr;) {
      const auto chosen = sub->get_subcommands();
      sub = chosen.empty() ? nullptr : chosen.front();
      if (sub != nullptr) command += " " + sub->get_name();
    }
    std::cerr << "ntkit: error: " << e.what() << " (see " << command << " --help)\n";
    return 2;
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
