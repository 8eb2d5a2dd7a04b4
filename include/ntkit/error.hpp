// The one exception type users see.
//
// A user mistake (bad shape, NaN input, unreadable file, unknown option value) throws
// ntkit::Error with a message that names the function or file, the argument, and the fix.
// The command-line tool prints the message and exits with status 2; Python sees ValueError.
#pragma once

#include <stdexcept>
#include <string>

namespace ntkit {

class Error : public std::invalid_argument {
 public:
  explicit Error(const std::string& message) : std::invalid_argument(message) {}
};

}  // namespace ntkit
