// Text pieces shared by the printers and argument checks of layers (private).
#pragma once

#include <charconv>
#include <string>
#include <vector>

#include "ntkit/error.hpp"
#include "ntkit/network.hpp"

namespace ntkit::detail {

// Shortest text that reads back to the same double (std::to_chars round-trips exactly).
inline std::string format_number(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

inline std::string format_list(const std::vector<double>& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ", ";
    out += format_number(values[i]);
  }
  return out + "]";
}

inline std::string join_arguments(const std::string& name, const std::vector<std::string>& arguments) {
  if (arguments.empty()) return name;  // parameterless layers print without "()"
  std::string out = name + "(";
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    if (i > 0) out += ", ";
    out += arguments[i];
  }
  return out + ")";
}

// Throws "<layer>: <argument> must be <requirement>, got <got>" and names the argument for
// the parser's column.
[[noreturn]] inline void bad_argument(const std::string& layer, const std::string& argument, const std::string& requirement,
                                      const std::string& got, std::string* bad_argument_out) {
  if (bad_argument_out) *bad_argument_out = argument;
  throw Error(layer + ": " + argument + " must be " + requirement + ", got " + got);
}

/// A builder's result, after its argument checks (throws ntkit::Error naming the argument).
inline Layer checked_layer(Layer layer) {
  check_layer_arguments(layer);
  return layer;
}

}  // namespace ntkit::detail
