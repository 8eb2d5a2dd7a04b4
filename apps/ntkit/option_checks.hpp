// Checks that every command's options get, attached in one place after all are registered.
//
// Numbers on the command line mean what they say, or are an error.
// CLI11 2.1 converts integers with strtoull/strtoll in base 0 and floats with strtod: "--seed -1"
// wraps to 2^64 − 1, every seed ≥ 2^64 becomes the same one, "010" is eight, "0x10" is sixteen,
// and "1e400" is infinity. require_strict_numbers gives every integer and floating-point option
// of every command a check that accepts only plain decimal text whose value fits the type.
// A network (--arch) must not be blank: "" used to mean "no --arch" (the linear kernel, or
// classify's default grid).
#pragma once

#include <CLI/CLI.hpp>

namespace ntkit::cli {

/// Attaches the checks to each INT, UINT and FLOAT option, and to --arch, of `app` and of all
/// its commands.
void add_option_checks(CLI::App& app);

/// The message for `text` given where an option of CLI11 type `type` ("INT", "UINT", "FLOAT")
/// is expected, or "" when it is a plain decimal number within range. (Exposed for tests.)
std::string strict_number_problem(const std::string& text, const std::string& type);

}  // namespace ntkit::cli
