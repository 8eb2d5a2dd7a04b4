// IDX files, the format of MNIST and Fashion-MNIST, plain or gzip-compressed.
//
// Layout: the magic number (two zero bytes, a type code, the rank), then `rank` dimensions as
// big-endian uint32, then the values in C order, big-endian. Type codes: 0x08 unsigned byte,
// 0x09 signed byte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64. Images are rank 3
// (N, H, W), labels rank 1 (N).
//
// Compression is recognized by content (the gzip magic 1f 8b), not by the file name; several
// concatenated gzip members are read as one stream, as gunzip does. Every problem throws
// ntkit::Error with a message that starts with the file name: a wrong magic number or type
// code, a zero dimension, a file shorter or longer than its dimensions say, a corrupt or cut-off
// gzip stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ntkit {

enum class IdxType { UInt8, Int8, Int16, Int32, Float32, Float64 };

/// "uint8", "int8", "int16", "int32", "float32", "float64".
const char* idx_type_name(IdxType type);

/// A decoded IDX array (or a range of its rows, see parse_idx): the values exactly as stored,
/// converted to double, in C order.
struct IdxArray {
  std::vector<std::size_t> shape;  // the file's shape, with shape[0] the rows actually decoded
  IdxType type = IdxType::UInt8;
  std::vector<double> values;  // product(shape) values
};

/// Rows [begin, end) along the first axis; end unset: to the last row.
struct RowRange {
  std::size_t begin = 0;
  std::optional<std::size_t> end;
};

/// True when `bytes` start like an IDX file: two zero bytes and a known type code.
bool looks_like_idx(std::string_view bytes);

/// True when `bytes` start with the gzip magic (1f 8b).
bool is_gzip(std::string_view bytes);

/// The decompressed bytes of a gzip file (all its members). `name` is used in error messages.
std::string gunzip(std::string_view bytes, const std::string& name);

/// Decodes the (uncompressed) bytes of an IDX file; only the rows in `rows` are converted, but
/// the whole file is checked. Error if the range does not lie within the file's rows.
IdxArray parse_idx(std::string_view bytes, const std::string& name, const RowRange& rows = {});

/// Reads an IDX file, gzip-compressed or not.
IdxArray read_idx(const std::string& path, const RowRange& rows = {});

/// The bytes of an uncompressed IDX file of `type` with this shape and values (C order; each
/// value must be representable in the type). For tests and for tools that write the format.
std::string encode_idx(IdxType type, const std::vector<std::size_t>& shape, const std::vector<double>& values);

/// gzip-compresses `bytes` (one member, zlib's default level).
std::string gzip(std::string_view bytes);

}  // namespace ntkit
