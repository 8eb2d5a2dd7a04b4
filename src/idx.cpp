// IDX files (MNIST's format) and gzip, through zlib (read_idx, which reads the file, is in
// examples.cpp: this file needs nothing but zlib, so the fuzz target compiles it alone).
#include "ntkit/idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "ntkit/error.hpp"

namespace ntkit {
namespace {

[[noreturn]] void fail(const std::string& name, const std::string& problem) { throw Error(name + ": " + problem); }

struct TypeInfo {
  unsigned char code;
  IdxType type;
  std::size_t size;
};
constexpr TypeInfo kTypes[] = {{0x08, IdxType::UInt8, 1}, {0x09, IdxType::Int8, 1},    {0x0B, IdxType::Int16, 2},
                               {0x0C, IdxType::Int32, 4}, {0x0D, IdxType::Float32, 4}, {0x0E, IdxType::Float64, 8}};

const TypeInfo* type_for_code(unsigned char code) {
  for (const TypeInfo& t : kTypes)
    if (t.code == code) return &t;
  return nullptr;
}

const TypeInfo& info_of(IdxType type) {
  for (const TypeInfo& t : kTypes)
    if (t.type == type) return t;
  throw Error("IDX: unknown type");
}

std::string hex_byte(unsigned char c) {
  const char* digits = "0123456789abcdef";
  return std::string("0x") + digits[c >> 4] + digits[c & 15];
}

std::string shape_text(const std::vector<std::size_t>& shape) {
  std::string out = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i > 0 ? ", " : "") + std::to_string(shape[i]);
  return out + (shape.size() == 1 ? ",)" : ")");
}

std::uint64_t load_be(const unsigned char* p, std::size_t size) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < size; ++i) v = (v << 8) | p[i];
  return v;
}

double decode(const unsigned char* p, IdxType type) {
  switch (type) {
    case IdxType::UInt8: return p[0];
    case IdxType::Int8: return static_cast<signed char>(p[0]);
    case IdxType::Int16: return static_cast<std::int16_t>(static_cast<std::uint16_t>(load_be(p, 2)));
    case IdxType::Int32: return static_cast<std::int32_t>(static_cast<std::uint32_t>(load_be(p, 4)));
    case IdxType::Float32: {
      const auto bits = static_cast<std::uint32_t>(load_be(p, 4));
      float f = 0;
      std::memcpy(&f, &bits, 4);
      return f;
    }
    case IdxType::Float64: {
      const std::uint64_t bits = load_be(p, 8);
      double d = 0;
      std::memcpy(&d, &bits, 8);
      return d;
    }
  }
  return 0;
}

void store_be(std::uint64_t v, std::size_t size, std::string& out) {
  for (std::size_t i = size; i-- > 0;) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// zlib takes at most uInt bytes per call.
constexpr std::size_t kChunk = std::size_t{1} << 30;

}  // namespace

const char* idx_type_name(IdxType type) {
  switch (type) {
    case IdxType::UInt8: return "uint8";
    case IdxType::Int8: return "int8";
    case IdxType::Int16: return "int16";
    case IdxType::Int32: return "int32";
    case IdxType::Float32: return "float32";
    case IdxType::Float64: return "float64";
  }
  return "?";
}

bool looks_like_idx(std::string_view bytes) {
  return bytes.size() >= 3 && bytes[0] == 0 && bytes[1] == 0 &&
         type_for_code(static_cast<unsigned char>(bytes[2])) != nullptr;
}

bool is_gzip(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f && static_cast<unsigned char>(bytes[1]) == 0x8b;
}

std::string gunzip(std::string_view bytes, const std::string& name) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) fail(name, "cannot start gzip decompression (zlib)");
  struct End {
    z_stream* z;
    ~End() { inflateEnd(z); }
  } end{&z};
  std::string out;
  out.resize(std::max<std::size_t>(bytes.size() * 4, 1024));
  std::size_t produced = 0, consumed = 0;
  bool member_done = false;
  while (true) {
    if (z.avail_in == 0 && consumed < bytes.size()) {
      const std::size_t take = std::min(kChunk, bytes.size() - consumed);
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data() + consumed));
      z.avail_in = static_cast<uInt>(take);
      consumed += take;
    }
    if (produced == out.size()) out.resize(out.size() * 2);
    const std::size_t room = std::min(kChunk, out.size() - produced);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    z.avail_out = static_cast<uInt>(room);
    const int rc = inflate(&z, Z_NO_FLUSH);
    produced += room - z.avail_out;
    if (rc == Z_STREAM_END) {
      member_done = true;
      const std::size_t left = z.avail_in + (bytes.size() - consumed);
      if (left == 0) break;
      // Another member follows (as gunzip reads them), or something that is not gzip.
      const std::string_view rest = bytes.substr(bytes.size() - left);
      if (!is_gzip(rest))
        fail(name, "unexpected data after the gzip stream (" + std::to_string(left) +
                       " bytes that are not gzip); the file is damaged");
      if (inflateReset(&z) != Z_OK) fail(name, "cannot continue gzip decompression (zlib)");
      member_done = false;
      continue;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && z.avail_in == 0 && consumed == bytes.size()) {
      fail(name, "truncated gzip data: the compressed stream ends early after " + std::to_string(produced) +
                     " decompressed bytes (a partial download or copy?); fetch or reinstall the file");
    }
    if (rc == Z_BUF_ERROR) continue;  // needs more output room (grown above) or input
    if (rc == Z_MEM_ERROR) throw std::bad_alloc();
    fail(name, std::string("corrupt gzip data (zlib: ") + (z.msg != nullptr ? z.msg : "error " + std::to_string(rc)) +
                   "); fetch or reinstall the file");
  }
  if (!member_done) fail(name, "truncated gzip data");
  out.resize(produced);
  return out;
}

std::string gzip(std::string_view bytes) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw Error("gzip: cannot start compression (zlib)");
  std::string out;
  out.resize(deflateBound(&z, static_cast<uLong>(std::min(bytes.size(), kChunk))) + 64);
  std::size_t produced = 0, consumed = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (z.avail_in == 0 && consumed < bytes.size()) {
      const std::size_t take = std::min(kChunk, bytes.size() - consumed);
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data() + consumed));
      z.avail_in = static_cast<uInt>(take);
      consumed += take;
    }
    if (produced == out.size()) out.resize(out.size() * 2);
    const std::size_t room = std::min(kChunk, out.size() - produced);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    z.avail_out = static_cast<uInt>(room);
    rc = deflate(&z, consumed == bytes.size() && z.avail_in == 0 ? Z_FINISH : Z_NO_FLUSH);
    produced += room - z.avail_out;
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      deflateEnd(&z);
      throw Error("gzip: compression failed (zlib error " + std::to_string(rc) + ")");
    }
  }
  deflateEnd(&z);
  out.resize(produced);
  return out;
}

IdxArray parse_idx(std::string_view bytes, const std::string& name, const RowRange& rows) {
  const auto* u = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 4)
    fail(name, "too short for an IDX file (" + std::to_string(bytes.size()) + " bytes; the magic number alone is 4)");
  if (u[0] != 0 || u[1] != 0)
    fail(name,
         "not an IDX file: its magic number must start with two zero bytes, got " + hex_byte(u[0]) + " " + hex_byte(u[1]));
  const TypeInfo* type = type_for_code(u[2]);
  if (type == nullptr)
    fail(name, "unknown IDX type code " + hex_byte(u[2]) +
                   " in the magic number (known: 0x08 uint8, 0x09 int8, 0x0b int16, 0x0c int32, 0x0d float32, "
                   "0x0e float64)");
  const std::size_t rank = u[3];
  if (rank == 0) fail(name, "IDX rank 0 in the magic number: no dimensions, no data");
  const std::size_t header = 4 + 4 * rank;
  if (bytes.size() < header)
    fail(name, "truncated IDX file: it ends inside the " + std::to_string(rank) + " dimensions (" +
                   std::to_string(bytes.size()) + " bytes, the header needs " + std::to_string(header) + ")");
  IdxArray out;
  out.type = type->type;
  std::size_t count = 1;
  for (std::size_t i = 0; i < rank; ++i) out.shape.push_back(static_cast<std::size_t>(load_be(u + 4 + 4 * i, 4)));
  for (std::size_t i = 0; i < rank; ++i) {
    if (out.shape[i] == 0)
      fail(name,
           "IDX dimension " + std::to_string(i) + " is 0 (shape " + shape_text(out.shape) + "): the file holds no data");
    if (count > std::numeric_limits<std::size_t>::max() / type->size / out.shape[i])
      fail(name, "IDX shape " + shape_text(out.shape) + " has too many values");
    count *= out.shape[i];
  }
  const std::size_t data_bytes = count * type->size;
  const std::size_t available = bytes.size() - header;
  const std::string described = "the dimensions " + shape_text(out.shape) + " say " + std::to_string(count) + " " +
                                idx_type_name(type->type) + " values (" + std::to_string(data_bytes) + " bytes)";
  if (available < data_bytes)
    fail(name, "truncated IDX file: " + described + " but only " + std::to_string(available) +
                   " bytes follow the header; the file is cut off (fetch or reinstall it)");
  if (available > data_bytes)
    fail(name, "unexpected data after the IDX array: " + described + " but " + std::to_string(available) + " bytes follow");
  const std::size_t n = out.shape[0];
  const std::size_t end = rows.end.value_or(n);
  if (rows.begin >= end || end > n)
    fail(name, "rows " + std::to_string(rows.begin) + ":" + std::to_string(end) + " asked for, but the file has " +
                   std::to_string(n) + " rows (0:" + std::to_string(n) + ")");
  const std::size_t per_row = count / n;
  out.shape[0] = end - rows.begin;
  const std::size_t values = out.shape[0] * per_row;
  out.values.resize(values);
  const unsigned char* data = u + header + rows.begin * per_row * type->size;
  if (type->type == IdxType::UInt8) {
    for (std::size_t i = 0; i < values; ++i) out.values[i] = data[i];
  } else {
    for (std::size_t i = 0; i < values; ++i) out.values[i] = decode(data + i * type->size, type->type);
  }
  return out;
}

std::string encode_idx(IdxType type, const std::vector<std::size_t>& shape, const std::vector<double>& values) {
  const TypeInfo& t = info_of(type);
  if (shape.empty() || shape.size() > 255) throw Error("encode_idx: rank must be 1 to 255");
  std::size_t count = 1;
  for (const std::size_t d : shape) {
    if (d > 0xffffffffu) throw Error("encode_idx: a dimension exceeds 2^32 - 1");
    count *= d;
  }
  if (count != values.size()) throw Error("encode_idx: the shape does not match the number of values");
  std::string out;
  out.reserve(4 + 4 * shape.size() + count * t.size);
  out.push_back(0);
  out.push_back(0);
  out.push_back(static_cast<char>(t.code));
  out.push_back(static_cast<char>(shape.size()));
  for (const std::size_t d : shape) store_be(d, 4, out);
  for (const double v : values) {
    switch (type) {
      case IdxType::UInt8:
      case IdxType::Int8:
      case IdxType::Int16:
      case IdxType::Int32: {
        const double lo = type == IdxType::UInt8   ? 0
                          : type == IdxType::Int8  ? -128
                          : type == IdxType::Int16 ? -32768
                                                   : -2147483648.0;
        const double hi = type == IdxType::UInt8   ? 255
                          : type == IdxType::Int8  ? 127
                          : type == IdxType::Int16 ? 32767
                                                   : 2147483647.0;
        if (!(v >= lo && v <= hi) || v != std::round(v))
          throw Error("encode_idx: value not representable as " + std::string(idx_type_name(type)));
        store_be(static_cast<std::uint64_t>(static_cast<std::int64_t>(v)), t.size, out);
        break;
      }
      case IdxType::Float32: {
        const auto f = static_cast<float>(v);
        std::uint32_t bits = 0;
        std::memcpy(&bits, &f, 4);
        store_be(bits, 4, out);
        break;
      }
      case IdxType::Float64: {
        std::uint64_t bits = 0;
        std::memcpy(&bits, &v, 8);
        store_be(bits, 8, out);
        break;
      }
    }
  }
  return out;
}

}  // namespace ntkit
