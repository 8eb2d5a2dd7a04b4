// The parser's view of one layer call, "Name(arg, key=value, …)", as each layer type's
// parse_layer rule sees it (private; the tokenizer and grammar are in network_parse.cpp).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ntkit/network.hpp"

namespace ntkit::detail {

/// ASCII case-insensitive equality: layer and argument names are case-insensitive.
bool iequals(std::string_view x, std::string_view y);

/// Thrown inside the parser with the byte offset it refers to; parse_network turns it into an
/// ntkit::Error with "at column c" and a caret line. `message` holds "{at}" for the location.
struct ParseError {
  std::size_t offset;
  std::string message;
};

struct Call;

struct Value {
  enum class Kind { Number, String, None, Bool, List, Call } kind = Kind::None;
  std::size_t offset = 0;
  double number = 0;
  bool is_integer = false;
  bool flag = false;
  std::string text;            // Number: as written; String: contents
  std::vector<Value> items;    // List / tuple
  std::shared_ptr<Call> call;  // a layer
};

struct Argument {
  std::string keyword;  // empty: positional
  std::size_t keyword_offset = 0;
  Value value;
};

struct Call {
  std::string name;
  std::size_t offset = 0;
  std::vector<Argument> arguments;
};

enum class ParamType { Int, Float, OptionalFloat, Bool, String, FloatList, IntPair };

/// One parameter of a layer's signature, in neural-tangents' positional order.
struct Param {
  std::string name;
  ParamType type;
  bool required = false;
};

/// A call bound to its layer's signature. Every accessor throws ParseError pointing at the
/// offending value.
class LayerCall {
 public:
  LayerCall(const Call& call, std::string layer) : call_(call), layer_(std::move(layer)) {}

  /// Binds positional then keyword arguments (case-insensitive names) to `signature`; throws
  /// for unknown, repeated, surplus or missing required arguments.
  void bind(std::vector<Param> signature);

  bool given(std::size_t index) const { return bound_.at(index) != nullptr; }
  const Value& value(std::size_t index) const { return bound_.at(index)->value; }
  int to_int(std::size_t index) const;
  double to_float(std::size_t index) const;
  std::optional<double> to_optional_float(std::size_t index) const;
  bool to_bool(std::size_t index) const;
  std::vector<double> to_float_list(std::size_t index) const;
  /// A tuple or list of `min_count`..`max_count` integers, e.g. (3, 3); None gives an empty list
  /// where `none_allowed`.
  std::vector<int> to_int_list(std::size_t index, std::size_t min_count, std::size_t max_count, bool none_allowed) const;
  /// 'VALID', 'SAME' or 'CIRCULAR' (any case).
  Padding to_padding(std::size_t index) const;
  /// 'ntk' or 'standard' (any case).
  Parameterization to_parameterization(std::size_t index) const;
  /// "<layer>: <param> must be <expected>, got <value>" at the value.
  [[noreturn]] void wrong_type(std::size_t index, const std::string& expected) const;
  /// neural-tangents' batch_axis / channel_axis arguments: ntkit's data are n × d matrices, so
  /// only 0 and −1 (= 1) are accepted.
  void check_axes(std::size_t batch_axis, std::size_t channel_axis) const;

  /// The layer, after its argument checks (check_layer_arguments); an error is placed at the
  /// offending argument, or at the layer's name when that argument took its default.
  Layer checked(Layer layer) const;

  const std::string& layer() const { return layer_; }

 private:
  const Call& call_;
  std::string layer_;
  std::vector<Param> signature_;
  std::vector<const Argument*> bound_;
};

}  // namespace ntkit::detail
