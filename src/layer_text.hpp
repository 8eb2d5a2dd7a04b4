// Text pieces shared by the printers and argument checks of layers (private).
#pragma once

#include <algorithm>
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

// Python's tuple syntax: (3, 3), and (3,) for one entry.
inline std::string format_tuple(const std::vector<int>& values) {
  std::string out = "(";
  for (std::size_t i = 0; i < values.size(); ++i) out += (i > 0 ? ", " : "") + std::to_string(values[i]);
  return out + (values.size() == 1 ? ",)" : ")");
}

inline const char* padding_name(Padding padding) {
  switch (padding) {
    case Padding::Valid: return "VALID";
    case Padding::Same: return "SAME";
    case Padding::Circular: return "CIRCULAR";
  }
  return "VALID";
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

// A filter or window shape: 1 or 2 spatial axes (1-D signals, images), each at least 1.
inline void check_window(const std::string& layer, const std::string& argument, const std::vector<int>& shape,
                         std::string* bad) {
  const bool ok = (shape.size() == 1 || shape.size() == 2) &&
                  std::all_of(shape.begin(), shape.end(), [](int n) { return n >= 1 && n <= 1000000; });
  if (!ok) {
    bad_argument(layer, argument, "a tuple of 1 or 2 positive integers (one per spatial axis), e.g. (3, 3)",
                 format_tuple(shape), bad);
  }
}

// strides: empty (the default) or one positive integer per axis of the window.
inline void check_strides(const std::string& layer, const std::vector<int>& strides, std::size_t axes, std::string* bad) {
  if (strides.empty()) return;
  const bool ok = strides.size() == axes &&
                  std::all_of(strides.begin(), strides.end(), [](int n) { return n >= 1 && n <= 1000000; });
  if (!ok) {
    bad_argument(layer, "strides",
                 "None or a tuple of " + std::to_string(axes) + " positive integer" + (axes == 1 ? "" : "s") +
                     " (one per axis of the window)",
                 format_tuple(strides), bad);
  }
}

/// A builder's result, after its argument checks (throws ntkit::Error naming the argument).
inline Layer checked_layer(Layer layer) {
  check_layer_arguments(layer);
  return layer;
}

}  // namespace ntkit::detail
