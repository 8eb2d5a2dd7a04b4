#include "option_checks.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <system_error>

namespace ntkit::cli {
namespace {

bool all_digits(const std::string& text, std::size_t from) {
  if (from >= text.size()) return false;
  for (std::size_t i = from; i < text.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

std::string lower(std::string text) {
  for (char& ch : text) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return text;
}

}  // namespace

std::string strict_number_problem(const std::string& text, const std::string& type) {
  if (type == "UINT") {
    std::uint64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (!all_digits(text, 0)) return "'" + text + "' is not a non-negative whole number";
    if (error == std::errc::result_out_of_range || end != text.data() + text.size()) {
      return "'" + text + "' is too large (at most 18446744073709551615)";
    }
    return "";
  }
  if (type == "INT") {
    const std::size_t digits = !text.empty() && (text[0] == '-' || text[0] == '+') ? 1 : 0;
    if (!all_digits(text, digits)) return "'" + text + "' is not a whole number";
    std::int64_t value = 0;
    const char* first = text.data() + (text[0] == '+' ? 1 : 0);
    const auto [end, error] = std::from_chars(first, text.data() + text.size(), value);
    if (error == std::errc::result_out_of_range || end != text.data() + text.size()) {
      return "'" + text + "' is out of range";
    }
    return "";  // CLI11 then checks that the value fits the option's own integer type
  }
  if (type == "FLOAT") {
    const std::string word = lower(text);
    const std::string unsigned_word = !word.empty() && (word[0] == '-' || word[0] == '+') ? word.substr(1) : word;
    if (unsigned_word == "inf" || unsigned_word == "infinity") return "";
    // std::from_chars (general format) takes only decimal text: no hex, no "nan", no spaces.
    const char* first = text.data() + (!text.empty() && text[0] == '+' ? 1 : 0);
    double value = 0;
    const auto [end, error] = std::from_chars(first, text.data() + text.size(), value);
    if (text.empty() || error == std::errc::invalid_argument || end != text.data() + text.size() ||
        unsigned_word.find('x') != std::string::npos || unsigned_word.find("nan") != std::string::npos) {
      return "'" + text + "' is not a number";
    }
    if (error == std::errc::result_out_of_range) {
      // from_chars reports both overflow and underflow; only overflow loses the meaning.
      const std::size_t e = word.find('e');
      const bool tiny = e != std::string::npos && e + 1 < word.size() && word[e + 1] == '-';
      if (!tiny) return "'" + text + "' is beyond the range of double precision (±1.8e308)";
    }
    return "";
  }
  return "";
}

void add_option_checks(CLI::App& app) {
  for (CLI::Option* option : app.get_options()) {
    if (option->get_name() == "--arch") {
      option->check(CLI::Validator(
          [](std::string& text) -> std::string {
            if (text.find_first_not_of(" \t\r\n") != std::string::npos) return "";
            return "the network is empty; give at least one layer, e.g. "
                   "\"Dense(512), Relu, Dense(1)\"";
          },
          "", "network"));
      continue;
    }
    const std::string type = option->get_type_name();
    if (type != "INT" && type != "UINT" && type != "FLOAT") continue;
    option->check(CLI::Validator([type](std::string& text) { return strict_number_problem(text, type); }, "", "strict"));
  }
  const auto all = std::function<bool(CLI::App*)>([](CLI::App*) { return true; });
  for (CLI::App* command : app.get_subcommands(all)) add_option_checks(*command);
}

}  // namespace ntkit::cli
