// parse_network: a tokenizer and a recursive-descent parser for neural-tangents-style network
// text, with errors that point at a line/column (caret under the text) and suggest the closest
// valid name.
//
// Grammar (names and keywords case-insensitive; whitespace and newlines anywhere between
// tokens):
//   network  := layer (',' layer)*                       -- serial composition, no trailing ','
//   layer    := NAME [ '(' [ argument (',' argument)* [','] ] ')' ]
//   argument := [ NAME '=' ] value                       -- positional before keyword, as Python
//   value    := NUMBER | STRING | None | True | False
//             | '[' [ value (',' value)* [','] ] ']'      -- list, e.g. Polynomial(coef=[1, 0, .5])
//             | '(' [ value (',' value)* [','] ] ')'      -- tuple, e.g. Dense(..., s=(1, 1))
//             | layer                                    -- arguments of serial/parallel/Residual
//   NUMBER   := [+-] (digits ['.' digits] | '.' digits) [(e|E) [+-] digits]
//   STRING   := '…' | "…"
// Structure: serial(...) flattens into its parent; parallel(b1, b2, …) takes one layer or
// serial(...) per branch; Residual(f…) = FanOut(2), parallel(serial(f…), Identity), FanInSum.
// Aliases: Swish = Silu; Step = RectifiedMonomial(0).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ntkit/error.hpp"
#include "layers/layer_rules.hpp"
#include "ntkit/network.hpp"

namespace ntkit {
namespace {

using detail::Argument;
using detail::Call;
using detail::iequals;
using detail::LayerCall;
using detail::Param;
using detail::ParamType;
using detail::ParseError;
using detail::Value;

// ---- Locations and messages ----------------------------------------------------------------

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

std::size_t edit_distance(std::string_view x, std::string_view y) {
  const std::string a = lower(x), b = lower(y);
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// "; did you mean 'X'?" for a close name (edit distance, case-insensitive; a name that is
// the start of a valid one counts as close: "Sigmoid" → "Sigmoid_like"), else the list.
std::string suggestion(std::string_view name, const std::vector<std::string>& valid) {
  std::string best;
  std::size_t best_distance = std::string::npos;
  for (const std::string& candidate : valid) {
    const bool prefix = name.size() >= 3 && lower(candidate).starts_with(lower(name));
    const std::size_t distance = prefix ? 1 : edit_distance(name, candidate);
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  std::string list;
  for (const std::string& candidate : valid) list += (list.empty() ? "" : ", ") + candidate;
  if (!best.empty() && best_distance <= std::max<std::size_t>(2, name.size() / 2)) {
    return "; did you mean '" + best + "'? (valid: " + list + ")";
  }
  return "; valid: " + list;
}

// The UTF-8 character (1 to 4 bytes) that starts at text[i], whole: a message that cut it would
// not be valid UTF-8 (Python's ValueError then failed to decode), and a lone byte means nothing.
std::string_view character_at(std::string_view text, std::size_t i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  std::size_t length = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  length = std::min(length, text.size() - i);
  for (std::size_t k = 1; k < length; ++k) {
    if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return text.substr(i, 1);
  }
  return text.substr(i, length);
}

// Shows a byte that is not valid UTF-8 as \xNN, so that the message stays valid UTF-8.
std::string printable(std::string_view character) {
  const auto lead = static_cast<unsigned char>(character[0]);
  if (character.size() > 1 || lead < 0x80) return std::string(character);
  static constexpr char kHex[] = "0123456789abcdef";
  return std::string("\\x") + kHex[lead >> 4] + kHex[lead & 0xf];
}

std::string format_error(std::string_view text, const ParseError& error) {
  std::size_t line_start = 0, line = 1;
  for (std::size_t i = 0; i < error.offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      line_start = i + 1;
      ++line;
    }
  }
  const std::size_t line_end = std::min(text.find('\n', line_start), text.size());
  // The line as whole characters (a tab shown as a space); columns count characters, not
  // bytes ("Relü" is 4 columns), so that the caret lines up.
  std::vector<std::string> characters;
  std::size_t at_char = 0;  // the character the error points at
  for (std::size_t i = line_start; i < line_end;) {
    if (i <= error.offset) at_char = characters.size();
    const std::string_view character = character_at(text, i);
    characters.push_back(character == "\t" ? std::string(" ") : printable(character));
    i += character.size();
  }
  if (error.offset >= line_end) at_char = characters.size();  // at the end of the line
  const bool multi_line = text.find('\n') != std::string_view::npos;
  const std::string at = (multi_line ? "at line " + std::to_string(line) + ", column " : std::string("at column ")) +
                         std::to_string(at_char + 1);
  std::string message = error.message;
  const std::size_t slot = message.find("{at}");
  if (slot != std::string::npos) message.replace(slot, 4, at);
  // A long line is shown as a window around the error (30,000 '[' are not worth printing).
  constexpr std::size_t kBefore = 60, kAfter = 20;
  const std::size_t first = at_char > kBefore ? at_char - kBefore : 0;
  const std::size_t last = std::min(characters.size(), at_char + kAfter + 1);
  std::string source = first > 0 ? "…" : "";
  for (std::size_t c = first; c < last; ++c) source += characters[c];
  if (last < characters.size()) source += "…";
  const std::size_t caret = at_char - first + (first > 0 ? 1 : 0);
  return "parse_network: " + message + "\n  " + source + "\n  " + std::string(caret, ' ') + "^";
}

// ---- Tokens --------------------------------------------------------------------------------

enum class TokenKind { Name, Number, String, LParen, RParen, LBracket, RBracket, Comma, Equals, End };

struct Token {
  TokenKind kind;
  std::size_t offset;
  std::string text;  // Name: as written; String: contents; Number: as written
  double number = 0;
  bool is_integer = false;
};

std::string describe(const Token& token) {
  switch (token.kind) {
    case TokenKind::Name: return "'" + token.text + "'";
    case TokenKind::Number: return "the number " + token.text;
    case TokenKind::String: return "the string '" + token.text + "'";
    case TokenKind::End: return "the end of the text";
    default: return "'" + token.text + "'";
  }
}

bool is_name_start(char ch) { return std::isalpha(static_cast<unsigned char>(ch)) || ch == '_'; }
bool is_name_char(char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_'; }
bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }

std::vector<Token> tokenize(std::string_view text) {
  std::vector<Token> tokens;
  std::size_t i = 0;
  while (i < text.size()) {
    const char ch = text[i];
    if (std::isspace(static_cast<unsigned char>(ch))) {
      ++i;
      continue;
    }
    const std::size_t start = i;
    auto single = [&](TokenKind kind) {
      tokens.push_back({kind, start, std::string(1, ch)});
      ++i;
    };
    if (ch == '(') single(TokenKind::LParen);
    else if (ch == ')') single(TokenKind::RParen);
    else if (ch == '[') single(TokenKind::LBracket);
    else if (ch == ']') single(TokenKind::RBracket);
    else if (ch == ',') single(TokenKind::Comma);
    else if (ch == '=') single(TokenKind::Equals);
    else if (ch == '\'' || ch == '"') {
      const std::size_t close = text.find(ch, i + 1);
      if (close == std::string_view::npos) {
        throw ParseError{start, "unterminated string {at}: add the closing " + std::string(1, ch)};
      }
      tokens.push_back({TokenKind::String, start, std::string(text.substr(i + 1, close - i - 1))});
      i = close + 1;
    } else if (is_name_start(ch)) {
      while (i < text.size() && is_name_char(text[i])) ++i;
      tokens.push_back({TokenKind::Name, start, std::string(text.substr(start, i - start))});
    } else if (is_digit(ch) || ch == '.' || ch == '-' || ch == '+') {
      // NUMBER := [+-] (digits ['.' digits] | '.' digits) [(e|E) [+-] digits]
      if (ch == '-' || ch == '+') ++i;
      bool digits = false, integer = true;
      while (i < text.size() && is_digit(text[i])) ++i, digits = true;
      if (i < text.size() && text[i] == '.') {
        ++i;
        integer = false;
        while (i < text.size() && is_digit(text[i])) ++i, digits = true;
      }
      if (!digits) throw ParseError{start, "expected a number {at}"};
      if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
        integer = false;
        std::size_t j = i + 1;
        if (j < text.size() && (text[j] == '+' || text[j] == '-')) ++j;
        if (j >= text.size() || !is_digit(text[j])) {
          throw ParseError{start, "malformed number {at}: an exponent needs digits, e.g. 1e-3"};
        }
        while (j < text.size() && is_digit(text[j])) ++j;
        i = j;
      }
      if (i < text.size() && is_name_char(text[i])) {
        throw ParseError{i, "unexpected '" + printable(character_at(text, i)) + "' {at} after a number"};
      }
      Token token{TokenKind::Number, start, std::string(text.substr(start, i - start))};
      std::string_view digits_text = token.text;
      if (digits_text.front() == '+') digits_text.remove_prefix(1);  // from_chars rejects '+'
      const auto result = std::from_chars(digits_text.data(), digits_text.data() + digits_text.size(), token.number);
      if (result.ec != std::errc() || !std::isfinite(token.number)) {
        throw ParseError{start, "number " + token.text + " {at} is out of range"};
      }
      token.is_integer = integer && std::abs(token.number) < 2147483648.0;
      tokens.push_back(std::move(token));
    } else {
      throw ParseError{start, "unexpected character '" + printable(character_at(text, start)) + "' {at}"};
    }
  }
  tokens.push_back({TokenKind::End, text.size(), ""});
  return tokens;
}

// ---- Syntax tree ---------------------------------------------------------------------------

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  std::vector<std::shared_ptr<Call>> parse_network() {
    std::vector<std::shared_ptr<Call>> layers;
    if (peek().kind == TokenKind::End) {
      throw ParseError{peek().offset,
                       "empty network {at}: give at least one layer, e.g. "
                       "\"Dense(512), Relu, Dense(1)\""};
    }
    while (true) {
      layers.push_back(parse_layer());
      const Token& next = peek();
      if (next.kind == TokenKind::End) break;
      if (next.kind == TokenKind::Comma) {
        const std::size_t comma = advance().offset;
        if (peek().kind == TokenKind::End) {
          throw ParseError{comma, "trailing comma {at}: remove it or add a layer after it"};
        }
        continue;
      }
      if (next.kind == TokenKind::RParen) {
        throw ParseError{next.offset, "unbalanced ')' {at}: it has no matching '('"};
      }
      if (next.kind == TokenKind::RBracket) {
        throw ParseError{next.offset, "unbalanced ']' {at}: it has no matching '['"};
      }
      throw ParseError{next.offset, "missing comma {at} before " + describe(next) + ": separate layers with ','"};
    }
    return layers;
  }

 private:
  const Token& peek(std::size_t ahead = 0) const { return tokens_[std::min(position_ + ahead, tokens_.size() - 1)]; }
  const Token& advance() { return tokens_[std::min(position_++, tokens_.size() - 1)]; }

  // Entered at each '(' or '[' that opens a nested level; left when its contents are parsed.
  class Nesting {
   public:
    Nesting(int& depth, std::size_t open) : depth_(depth) {
      if (++depth_ > kMaxNesting) {
        throw ParseError{open, "brackets nested deeper than " + std::to_string(kMaxNesting) +
                                   " levels {at}: flatten the network (serial(...) and "
                                   "Residual(...) take several layers)"};
      }
    }
    ~Nesting() { --depth_; }
    Nesting(const Nesting&) = delete;
    Nesting& operator=(const Nesting&) = delete;

   private:
    int& depth_;
  };

  std::shared_ptr<Call> parse_layer() {
    const Token& name = peek();
    if (name.kind != TokenKind::Name) {
      throw ParseError{name.offset, "expected a layer name {at}, got " + describe(name)};
    }
    advance();
    auto call = std::make_shared<Call>();
    call->name = name.text;
    call->offset = name.offset;
    if (peek().kind != TokenKind::LParen) return call;  // "Relu" = "Relu()"
    const std::size_t open = advance().offset;
    const Nesting nesting(depth_, open);
    bool seen_keyword = false;
    while (peek().kind != TokenKind::RParen) {
      if (peek().kind == TokenKind::End) {
        throw ParseError{open, "unbalanced '(' {at}: missing ')'"};
      }
      Argument argument;
      if (peek().kind == TokenKind::Name && peek(1).kind == TokenKind::Equals) {
        argument.keyword = peek().text;
        argument.keyword_offset = peek().offset;
        advance();
        advance();
        seen_keyword = true;
      } else if (seen_keyword) {
        throw ParseError{peek().offset,
                         "positional argument {at} follows a keyword argument "
                         "(as in Python, positional arguments come first)"};
      }
      argument.value = parse_value(open);
      call->arguments.push_back(std::move(argument));
      expect_separator(TokenKind::RParen, open, "')'");
    }
    advance();
    return call;
  }

  // After an item inside (...) or [...]: ',' or the closing bracket.
  void expect_separator(TokenKind close, std::size_t open, const std::string& close_text) {
    const Token& next = peek();
    if (next.kind == TokenKind::Comma) {
      advance();
      return;
    }
    if (next.kind == close) return;
    if (next.kind == TokenKind::End) {
      const std::string open_text = close == TokenKind::RParen ? "'('" : "'['";
      throw ParseError{open, "unbalanced " + open_text + " {at}: missing " + close_text};
    }
    if (next.kind == TokenKind::RParen || next.kind == TokenKind::RBracket) {
      throw ParseError{next.offset, "mismatched " + describe(next) + " {at}: expected " + close_text};
    }
    throw ParseError{next.offset, "missing comma {at} before " + describe(next)};
  }

  Value parse_value(std::size_t enclosing_open) {
    const Token& token = peek();
    Value value;
    value.offset = token.offset;
    switch (token.kind) {
      case TokenKind::Number:
        value.kind = Value::Kind::Number;
        value.number = token.number;
        value.is_integer = token.is_integer;
        value.text = token.text;
        advance();
        return value;
      case TokenKind::String:
        value.kind = Value::Kind::String;
        value.text = token.text;
        advance();
        return value;
      case TokenKind::LBracket:
      case TokenKind::LParen: {
        const bool bracket = token.kind == TokenKind::LBracket;
        const TokenKind close = bracket ? TokenKind::RBracket : TokenKind::RParen;
        const std::size_t open = advance().offset;
        const Nesting nesting(depth_, open);
        value.kind = Value::Kind::List;
        while (peek().kind != close) {
          if (peek().kind == TokenKind::End) {
            throw ParseError{
                open, std::string("unbalanced '") + (bracket ? "[" : "(") + "' {at}: missing " + (bracket ? "']'" : "')'")};
          }
          value.items.push_back(parse_value(open));
          expect_separator(close, open, bracket ? "']'" : "')'");
        }
        advance();
        return value;
      }
      case TokenKind::Name:
        if (iequals(token.text, "None")) {
          value.kind = Value::Kind::None;
          advance();
          return value;
        }
        if (iequals(token.text, "True") || iequals(token.text, "False")) {
          value.kind = Value::Kind::Bool;
          value.flag = iequals(token.text, "True");
          advance();
          return value;
        }
        value.kind = Value::Kind::Call;
        value.call = parse_layer();
        return value;
      case TokenKind::End: throw ParseError{enclosing_open, "unbalanced '(' {at}: missing ')'"};
      default: throw ParseError{token.offset, "expected a value {at}, got " + describe(token)};
    }
  }

  std::vector<Token> tokens_;
  std::size_t position_ = 0;
  int depth_ = 0;  // brackets open at the current token
};

// ---- From syntax to layers -----------------------------------------------------------------

std::string argument_list(const std::vector<Param>& signature) {
  std::string out;
  for (const Param& param : signature) out += (out.empty() ? "" : ", ") + param.name;
  return out;
}

std::string value_text(const Value& value) {
  switch (value.kind) {
    case Value::Kind::Number: return value.text;
    case Value::Kind::String: return "'" + value.text + "'";
    case Value::Kind::None: return "None";
    case Value::Kind::Bool: return value.flag ? "True" : "False";
    case Value::Kind::List: return "a list";
    case Value::Kind::Call: return "the layer '" + value.call->name + "'";
  }
  return "";
}

// Where each layer of the result came from: path (layer, branch, layer, …) → text offset.
using Locations = std::map<std::vector<int>, std::size_t>;

class Builder {
 public:
  explicit Builder(Locations& locations) : locations_(locations) {}

  // Appends the layers `call` stands for (several for serial/Residual) to `out`, whose
  // layers have paths prefix + [index].
  void append(const Call& call, const std::vector<int>& prefix, Network& out) {
    const std::string name = lower(call.name);
    if (name == "serial") {
      for (const Call* part : layer_arguments(call, "serial")) append(*part, prefix, out);
      return;
    }
    if (name == "residual") {
      // FanOut(2), parallel(serial(f…), Identity), FanInSum
      push(FanOutLayer{2}, call.offset, prefix, out);
      const std::vector<int> parallel_path = path_of(prefix, out.layers.size());
      Network branch;
      for (const Call* part : layer_arguments(call, "Residual")) {
        append(*part, with(parallel_path, 0), branch);
      }
      locations_[with(with(parallel_path, 1), 0)] = call.offset;
      push(ParallelLayer{{std::move(branch), Network{{IdentityLayer{}}}}}, call.offset, prefix, out);
      push(FanInSumLayer{}, call.offset, prefix, out);
      return;
    }
    if (name == "parallel") {
      const std::vector<int> parallel_path = path_of(prefix, out.layers.size());
      ParallelLayer parallel;
      const std::vector<const Call*> branches = layer_arguments(call, "parallel");
      for (std::size_t i = 0; i < branches.size(); ++i) {
        Network branch;
        append(*branches[i], with(parallel_path, static_cast<int>(i)), branch);
        parallel.branches.push_back(std::move(branch));
      }
      push(std::move(parallel), call.offset, prefix, out);
      return;
    }
    push(make_layer(call), call.offset, prefix, out);
  }

 private:
  static std::vector<int> with(std::vector<int> path, int index) {
    path.push_back(index);
    return path;
  }
  static std::vector<int> path_of(const std::vector<int>& prefix, std::size_t index) {
    return with(prefix, static_cast<int>(index));
  }

  void push(Layer layer, std::size_t offset, const std::vector<int>& prefix, Network& out) {
    locations_[path_of(prefix, out.layers.size())] = offset;
    out.layers.push_back(std::move(layer));
  }

  static std::vector<const Call*> layer_arguments(const Call& call, const std::string& what) {
    std::vector<const Call*> parts;
    for (const Argument& argument : call.arguments) {
      if (!argument.keyword.empty()) {
        throw ParseError{argument.keyword_offset, what + " takes layers only, not keyword arguments {at}"};
      }
      if (argument.value.kind != Value::Kind::Call) {
        throw ParseError{argument.value.offset, what + " takes layers, got " + value_text(argument.value) + " {at}"};
      }
      parts.push_back(argument.value.call.get());
    }
    return parts;
  }

  // Every layer name the parser knows, for suggestions.
  static const std::vector<std::string>& known_names() {
    static const std::vector<std::string> names = [] {
      std::vector<std::string> out{"serial", "parallel", "Residual"};
      detail::for_each_layer_type([&](const auto* type) {
        for (const std::string& name : detail::layer_names(type)) out.push_back(name);
      });
      return out;
    }();
    return names;
  }

  // The layer type that takes this name parses the call (its file in src/layers/).
  static Layer make_layer(const Call& call) {
    std::optional<Layer> layer;
    detail::for_each_layer_type([&](const auto* type) {
      if (layer) return;
      for (const std::string& name : detail::layer_names(type)) {
        if (iequals(name, call.name)) {
          layer = detail::parse_layer(type, call);
          return;
        }
      }
    });
    if (layer) return std::move(*layer);
    throw ParseError{call.offset, "unknown layer '" + call.name + "' {at}" + suggestion(call.name, known_names())};
  }

  Locations& locations_;
};

}  // namespace

// ---- One layer call, bound to its signature (layers/network_text.hpp) ------------------------

namespace detail {

bool iequals(std::string_view x, std::string_view y) { return lower(x) == lower(y); }

void LayerCall::bind(std::vector<Param> signature) {
  signature_ = std::move(signature);
  const std::vector<Param>& sig = signature_;
  const std::string& layer = layer_;
  const Call& call = call_;
  std::vector<const Argument*> bound(sig.size(), nullptr);
  std::size_t positional = 0;
  std::vector<std::string> names;
  for (const Param& param : sig) names.push_back(param.name);
  for (const Argument& argument : call.arguments) {
    std::size_t index;
    if (argument.keyword.empty()) {
      index = positional++;
      if (index >= sig.size()) {
        throw ParseError{argument.value.offset, sig.empty()
                                                    ? layer + " takes no arguments; got one {at}"
                                                    : "too many positional arguments for " + layer + " {at}: it takes " +
                                                          std::to_string(sig.size()) + " (" + argument_list(sig) + ")"};
      }
    } else {
      const auto found = std::find_if(sig.begin(), sig.end(),
                                      [&](const Param& p) { return iequals(p.name, argument.keyword); });
      if (found == sig.end()) {
        throw ParseError{argument.keyword_offset,
                         "unknown argument '" + argument.keyword + "' of " + layer + " {at}" +
                             (sig.empty() ? "; " + layer + " takes no arguments" : suggestion(argument.keyword, names))};
      }
      index = static_cast<std::size_t>(found - sig.begin());
    }
    if (bound[index]) {
      const std::size_t offset = argument.keyword.empty() ? argument.value.offset : argument.keyword_offset;
      throw ParseError{offset, "argument '" + sig[index].name + "' of " + layer + " given twice {at}"};
    }
    bound[index] = &argument;
  }
  for (std::size_t i = 0; i < sig.size(); ++i) {
    if (sig[i].required && !bound[i]) {
      throw ParseError{call.offset, layer + " {at} needs the argument '" + sig[i].name + "', e.g. " + layer + "(" +
                                        sig[i].name +
                                        (sig[i].type == ParamType::FloatList ? "=[0, 1])"
                                         : sig[i].type == ParamType::IntPair ? "=(3, 3))"
                                                                             : "=1)")};
    }
  }
  bound_ = std::move(bound);
}

void LayerCall::wrong_type(std::size_t index, const std::string& expected) const {
  const Value& v = value(index);
  throw ParseError{v.offset,
                   layer_ + ": " + signature_.at(index).name + " must be " + expected + ", got " + value_text(v) + " {at}"};
}

int LayerCall::to_int(std::size_t index) const {
  const Value& v = value(index);
  if (v.kind != Value::Kind::Number || !v.is_integer) wrong_type(index, "an integer");
  return static_cast<int>(v.number);
}

double LayerCall::to_float(std::size_t index) const {
  const Value& v = value(index);
  if (v.kind != Value::Kind::Number) wrong_type(index, "a number");
  return v.number;
}

std::optional<double> LayerCall::to_optional_float(std::size_t index) const {
  const Value& v = value(index);
  if (v.kind == Value::Kind::None) return std::nullopt;
  if (v.kind != Value::Kind::Number) wrong_type(index, "a number or None");
  return v.number;
}

bool LayerCall::to_bool(std::size_t index) const {
  const Value& v = value(index);
  if (v.kind != Value::Kind::Bool) wrong_type(index, "True or False");
  return v.flag;
}

std::vector<double> LayerCall::to_float_list(std::size_t index) const {
  const Value& v = value(index);
  if (v.kind != Value::Kind::List) wrong_type(index, "a list of numbers, e.g. [0, 1, 0.5]");
  std::vector<double> out;
  for (const Value& item : v.items) {
    if (item.kind != Value::Kind::Number) {
      throw ParseError{item.offset, layer_ + ": " + signature_.at(index).name + " must be a list of numbers, got " +
                                        value_text(item) + " {at}"};
    }
    out.push_back(item.number);
  }
  return out;
}

std::vector<int> LayerCall::to_int_list(std::size_t index, std::size_t min_count, std::size_t max_count,
                                        bool none_allowed) const {
  const Value& v = value(index);
  const std::string example = max_count == 1 ? "(3,)" : "(3, 3)";
  const std::string expected = "a tuple of " +
                               (min_count == max_count ? std::to_string(min_count)
                                                       : std::to_string(min_count) + " to " + std::to_string(max_count)) +
                               " positive integers, e.g. " + example + (none_allowed ? ", or None" : "");
  if (v.kind == Value::Kind::None && none_allowed) return {};
  if (v.kind != Value::Kind::List || v.items.size() < min_count || v.items.size() > max_count) wrong_type(index, expected);
  std::vector<int> out;
  for (const Value& item : v.items) {
    if (item.kind != Value::Kind::Number || !item.is_integer || item.number < 1 || item.number > 1e6) {
      throw ParseError{item.offset, layer_ + ": " + signature_.at(index).name + " must be " + expected + ", got " +
                                        value_text(item) + " {at}"};
    }
    out.push_back(static_cast<int>(item.number));
  }
  return out;
}

Padding LayerCall::to_padding(std::size_t index) const {
  const Value& v = value(index);
  const auto is = [&](const char* name) { return v.kind == Value::Kind::String && iequals(v.text, name); };
  if (is("VALID")) return Padding::Valid;
  if (is("SAME")) return Padding::Same;
  if (is("CIRCULAR")) return Padding::Circular;
  wrong_type(index, "'VALID', 'SAME' or 'CIRCULAR'");
}

Parameterization LayerCall::to_parameterization(std::size_t index) const {
  const Value& v = value(index);
  const auto is = [&](const char* name) { return v.kind == Value::Kind::String && iequals(v.text, name); };
  if (is("ntk")) return Parameterization::Ntk;
  if (is("standard")) return Parameterization::Standard;
  wrong_type(index, "'ntk' or 'standard'");
}

void LayerCall::check_axes(std::size_t batch_axis, std::size_t channel_axis) const {
  if (given(batch_axis) && to_int(batch_axis) != 0) {
    wrong_type(batch_axis, "0 (inputs are n × d, one example per row)");
  }
  if (given(channel_axis)) {
    const int axis = to_int(channel_axis);
    if (axis != -1 && axis != 1) wrong_type(channel_axis, "-1 (inputs are n × d)");
  }
}

Layer LayerCall::checked(Layer layer) const {
  std::string bad;
  try {
    check_layer_arguments(layer, &bad);
  } catch (const Error& error) {
    std::size_t offset = call_.offset;
    for (std::size_t i = 0; i < signature_.size(); ++i) {
      if (iequals(signature_[i].name, bad) && bound_[i]) offset = bound_[i]->value.offset;
    }
    throw ParseError{offset, std::string(error.what()) + " {at}"};
  }
  return layer;
}

}  // namespace detail

Network parse_network(std::string_view text) {
  try {
    const std::vector<std::shared_ptr<Call>> calls = Parser(tokenize(text)).parse_network();
    Locations locations;
    Builder builder(locations);
    Network network;
    for (const auto& call : calls) builder.append(*call, {}, network);
    if (auto problem = detail::find_problem(network)) {
      const auto found = locations.find(problem->path);
      if (found == locations.end()) {
        // A whole-network problem: no column to point at.
        std::string message = problem->message;
        const std::size_t slot = message.find(" {at}");
        if (slot != std::string::npos) message.erase(slot, 5);
        throw Error("parse_network: " + message);
      }
      throw ParseError{found->second, problem->message};
    }
    return network;
  } catch (const ParseError& error) {
    throw Error(format_error(text, error));
  }
}

}  // namespace ntkit
