// Fuzz target for the network description parser (--arch text, ntkit.kernel(arch=...)).
//
// Any input may be rejected with ntkit::Error whose message starts "parse_network: "; anything
// else (a crash, a stack overflow from deep nesting, another exception, undefined behaviour)
// is a bug. An accepted network is printed with to_string and parsed again: the result must be
// the same network, because to_string promises text that parse_network reads back.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ntkit/error.hpp"
#include "ntkit/network.hpp"

namespace {

[[noreturn]] void bug(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_network: %s\n%s\n", what, detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  ntkit::Network network;
  try {
    network = ntkit::parse_network(text);
  } catch (const ntkit::Error& error) {
    if (std::string_view(error.what()).substr(0, 15) != "parse_network: ") {
      bug("message lacks the function name", error.what());
    }
    return 0;
  }
  // Outside the try block: printed text that does not parse again is a bug.
  const std::string printed = ntkit::to_string(network);
  ntkit::Network again;
  try {
    again = ntkit::parse_network(printed);
  } catch (const ntkit::Error& error) {
    bug("printed network does not parse", printed + "\n" + error.what());
  }
  if (!(again == network)) bug("the network changed in the round trip", printed);
  return 0;
}
