// Tests of the data I/O layer: .npy decoding/encoding, text matrices, files.
//
// The .npy fixtures under tests/data/npy/ were written by numpy (make_fixtures.py there); the
// expected values below are the formulas documented in that script.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ntkit/error.hpp"
#include "ntkit/io.hpp"
#include "test_helpers.hpp"

namespace {

namespace fs = std::filesystem;
using ntkit::DType;
using ntkit::Error;
using ntkit::RowMatrixD;
using ntkit::RowMatrixF;

std::string fixture(const std::string& name) { return std::string(NTKIT_TEST_DATA_DIR) + "/npy/" + name; }

std::uint64_t bits(double x) {
  std::uint64_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}

std::uint32_t bits(float x) {
  std::uint32_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}

std::string slurp(const std::string& path) { return ntkit::read_file(path); }

// Builds a .npy file around an arbitrary header dict text, padded like numpy does.
std::string make_npy(const std::string& dict, const std::string& data, int major = 1) {
  const std::size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  const std::size_t len = header.size();
  for (std::size_t i = 0; i < (major == 1 ? 2u : 4u); ++i) {
    out += static_cast<char>((len >> (8 * i)) & 0xff);
  }
  return out + header + data;
}

std::string f8_bytes(const std::vector<double>& values) {
  std::string out(values.size() * 8, '\0');
  std::memcpy(out.data(), values.data(), out.size());  // the test machine is little-endian
  return out;
}

// The 3x4 "ramp" of make_fixtures.py: value (i, j) = (4*i + j) / 4 - 1.
std::vector<double> ramp() {
  std::vector<double> v;
  for (int k = 0; k < 12; ++k) v.push_back(k / 4.0 - 1.0);
  return v;
}

// ---- .npy decoding of numpy-written fixtures ----------------------------------------------

struct FixtureCase {
  const char* file;
  DType dtype;
  bool fortran;
};

class NpyRampFixture : public ::testing::TestWithParam<FixtureCase> {};

TEST_P(NpyRampFixture, DecodesToTheRampInCOrder) {
  const FixtureCase c = GetParam();
  const ntkit::NpyArray a = ntkit::parse_npy(slurp(fixture(c.file)), c.file);
  EXPECT_EQ(a.shape, (std::vector<std::size_t>{3, 4}));
  EXPECT_EQ(a.dtype, c.dtype);
  EXPECT_EQ(a.fortran_order, c.fortran);
  EXPECT_EQ(a.values, ramp());
}

INSTANTIATE_TEST_SUITE_P(
    AllDtypesOrdersVersions, NpyRampFixture,
    ::testing::Values(FixtureCase{"f8_c.npy", DType::Float64, false}, FixtureCase{"f8_fortran.npy", DType::Float64, true},
                      FixtureCase{"f4_c.npy", DType::Float32, false}, FixtureCase{"f4_fortran.npy", DType::Float32, true},
                      FixtureCase{"f8_v2.npy", DType::Float64, false}, FixtureCase{"f8_v3.npy", DType::Float64, false}));

TEST(NpyDecode, Int32Extremes) {
  const auto a = ntkit::parse_npy(slurp(fixture("i4_c.npy")), "i4");
  EXPECT_EQ(a.dtype, DType::Int32);
  EXPECT_EQ(a.shape, (std::vector<std::size_t>{2, 2}));
  EXPECT_EQ(a.values, (std::vector<double>{-2147483648.0, 7.0, 0.0, 2147483647.0}));
}

TEST(NpyDecode, Int64FortranOrder) {
  const auto a = ntkit::parse_npy(slurp(fixture("i8_fortran.npy")), "i8");
  EXPECT_EQ(a.dtype, DType::Int64);
  EXPECT_TRUE(a.fortran_order);
  EXPECT_EQ(a.shape, (std::vector<std::size_t>{2, 3}));
  std::vector<double> expected;
  for (int k = 0; k < 6; ++k) expected.push_back(std::ldexp(k, 40) - std::ldexp(1, 42));
  EXPECT_EQ(a.values, expected);
}

TEST(NpyDecode, Int64OneDimensional) {
  const auto a = ntkit::parse_npy(slurp(fixture("i8_1d.npy")), "i8");
  EXPECT_EQ(a.shape, (std::vector<std::size_t>{3}));
  EXPECT_EQ(a.values, (std::vector<double>{-9007199254740992.0, 0.0, 9007199254740992.0}));
}

TEST(NpyDecode, OneDimensional) {
  const auto a = ntkit::parse_npy(slurp(fixture("f8_1d.npy")), "1d");
  EXPECT_EQ(a.shape, (std::vector<std::size_t>{5}));
  ASSERT_EQ(a.values.size(), 5u);
  EXPECT_EQ(a.values[0], 0.5);
  EXPECT_EQ(a.values[1], -1.5);
  EXPECT_EQ(a.values[2], 2.5);
  EXPECT_EQ(a.values[3], 1e300);
  EXPECT_EQ(bits(a.values[4]), bits(-0.0));
}

TEST(NpyDecode, ZeroDimensional) {
  const auto a = ntkit::parse_npy(slurp(fixture("f8_0d.npy")), "0d");
  EXPECT_TRUE(a.shape.empty());
  EXPECT_EQ(a.values, (std::vector<double>{3.5}));
}

TEST(NpyDecode, ThreeDimensionalBothOrders) {
  std::vector<double> expected;
  for (int k = 0; k < 24; ++k) expected.push_back(k);
  for (const char* file : {"f8_3d.npy", "f8_3d_fortran.npy"}) {
    const auto a = ntkit::parse_npy(slurp(fixture(file)), file);
    EXPECT_EQ(a.shape, (std::vector<std::size_t>{2, 3, 4})) << file;
    EXPECT_EQ(a.values, expected) << file;
  }
}

TEST(NpyDecode, EmptyShape) {
  const auto a = ntkit::parse_npy(slurp(fixture("f8_empty.npy")), "empty");
  EXPECT_EQ(a.shape, (std::vector<std::size_t>{0, 3}));
  EXPECT_TRUE(a.values.empty());
}

// ---- .npy rejections -------------------------------------------------------------------------

TEST(NpyReject, NumpyWrittenUnsupportedFiles) {
  EXPECT_ERROR_CONTAINS(ntkit::parse_npy(slurp(fixture("f8_big_endian.npy")), "be.npy"),
                        "be.npy: big-endian data (dtype '>f8') is not supported; "
                        "convert with arr.astype('<f8')");
  EXPECT_ERROR_CONTAINS(ntkit::parse_npy(slurp(fixture("c16.npy")), "c"),
                        "unsupported dtype '<c16'; supported: float32 ('<f4'), float64");
  EXPECT_ERROR_CONTAINS(ntkit::parse_npy(slurp(fixture("u1.npy")), "u"), "unsupported dtype '|u1'");
  EXPECT_ERROR_CONTAINS(ntkit::parse_npy(slurp(fixture("object.npy")), "o"), "object arrays (dtype '|O') are not supported");
  EXPECT_ERROR_CONTAINS(ntkit::parse_npy(slurp(fixture("structured.npy")), "s"), "structured dtypes");
}

const std::string kRampDict = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }";

TEST(NpyReject, WrongMagic) {
  std::string bytes = make_npy(kRampDict, f8_bytes(ramp()));
  bytes[1] = 'M';
  EXPECT_ERROR_CONTAINS(ntkit::parse_npy(bytes, "x.npy"), "x.npy: not a .npy file");
  EXPECT_ERROR_CONTAINS(ntkit::parse_npy("", "x.npy"), "not a .npy file");
  EXPECT_ERROR_CONTAINS(ntkit::parse_npy("\x93NUM", "x.npy"), "not a .npy file");
}

TEST(NpyReject, UnsupportedVersion) {
  std::string bytes = make_npy(kRampDict, f8_bytes(ramp()));
  bytes[6] = 4;
  EXPECT_ERROR_CONTAINS(ntkit::parse_npy(bytes, "x"), "unsupported .npy format version 4.0 (supported: 1.0, 2.0, 3.0)");
  bytes[6] = 1;
  bytes[7] = 1;
  EXPECT_ERROR_CONTAINS(ntkit::parse_npy(bytes, "x"), "unsupported .npy format version 1.1");
}

TEST(NpyReject, TruncatedHeader) {
  const std::string bytes = make_npy(kRampDict, f8_bytes(ramp()));
  EXPECT_ERROR_CONTAINS(ntkit::parse_npy(bytes.substr(0, 40), "x"),
                        "truncated header: the header length field says 118 bytes but only 30");
  EXPECT_ERROR_CONTAINS(ntkit::parse_npy(bytes.substr(0, 9), "x"), "ends inside the header length");
  EXPECT_ERROR_CONTAINS(ntkit::parse_npy(bytes.substr(0, 7), "x"), "ends inside the format version");
}

TEST(NpyReject, TruncatedData) {
  const std::string bytes = make_npy(kRampDict, f8_bytes(ramp()).substr(0, 40));
  EXPECT_ERROR_CONTAINS(ntkit::parse_npy(bytes, "x.npy"),
                        "x.npy: truncated: header says 12 values (96 bytes) but only 40 bytes "
                        "follow");
}

TEST(NpyReject, ExtraTrailingBytes) {
  const std::string bytes = make_npy(kRampDict, f8_bytes(ramp()) + "junk");
  EXPECT_ERROR_CONTAINS(ntkit::parse_npy(bytes, "x"),
                        "unexpected data after the array: header says 12 values (96 bytes) but "
                        "100 bytes follow");
}

TEST(NpyReject, ShapeSizeMismatch) {
  // A (2, 2) header in front of 12 values.
  const std::string bytes = make_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", f8_bytes(ramp()));
  EXPECT_ERROR_CONTAINS(ntkit::parse_npy(bytes, "x"), "header says 4 values (32 bytes)");
}

TEST(NpyReject, BadHeaderText) {
  const auto parse_dict = [](const std::string& dict) { return ntkit::parse_npy(make_npy(dict, ""), "h.npy"); };
  EXPECT_ERROR_CONTAINS(parse_dict("[1, 2]"), "h.npy: bad header: the header is not a Python dict");
  EXPECT_ERROR_CONTAINS(parse_dict("{'descr': '<f8', 'fortran_order': False}"), "key 'shape' is missing");
  EXPECT_ERROR_CONTAINS(parse_dict("{'shape': (0,), 'fortran_order': False}"), "key 'descr' is missing");
  EXPECT_ERROR_CONTAINS(parse_dict("{'descr': '<f8', 'shape': (0,)}"), "key 'fortran_order' is missing");
  EXPECT_ERROR_CONTAINS(parse_dict("{'descr': '<f8', 'descr': '<f8'"), "key 'descr' appears twice");
  EXPECT_ERROR_CONTAINS(parse_dict("{'descr': '<f8', 'colour': 1}"), "unexpected key 'colour'");
  EXPECT_ERROR_CONTAINS(parse_dict("{'descr': '<f8', 'fortran_order': 0, 'shape': (0,)}"),
                        "'fortran_order' must be True or False");
  EXPECT_ERROR_CONTAINS(parse_dict("{'descr': '<f8', 'fortran_order': Falsey, 'shape': (0,)}"),
                        "'fortran_order' must be True or False");
  EXPECT_ERROR_CONTAINS(parse_dict("{'descr': '<f8', 'fortran_order': False, 'shape': 3}"),
                        "'shape' must be a tuple of integers");
  EXPECT_ERROR_CONTAINS(parse_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (3)}"), "a 1-D shape is written (n,)");
  EXPECT_ERROR_CONTAINS(parse_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (-1, 2)}"),
                        "'shape' must contain non-negative integers");
  EXPECT_ERROR_CONTAINS(parse_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (2 3)}"),
                        "expected ',' or ')' in 'shape'");
  EXPECT_ERROR_CONTAINS(parse_dict("{'descr': <f8, 'fortran_order': False, 'shape': (0,)}"), "'descr' must be a string");
  EXPECT_ERROR_CONTAINS(parse_dict("{'descr' '<f8', 'fortran_order': False, 'shape': (0,)}"),
                        "expected ':' after key 'descr'");
  EXPECT_ERROR_CONTAINS(parse_dict("{'descr': '<f8', 'fortran_order': False 'shape': (0,)}"),
                        "expected ',' or '}' after the value of 'fortran_order'");
  EXPECT_ERROR_CONTAINS(parse_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (0,)} x"),
                        "unexpected text after the closing '}'");
  EXPECT_ERROR_CONTAINS(parse_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (0,)"), "found the end of the header");
}

TEST(NpyReject, OverflowingShapes) {
  const auto parse_shape = [](const std::string& shape) {
    return ntkit::parse_npy(make_npy("{'descr': '<f8', 'fortran_order': False, 'shape': " + shape + "}", ""), "o");
  };
  EXPECT_ERROR_CONTAINS(parse_shape("(4611686018427387904, 4611686018427387904)"), "has too many values");
  EXPECT_ERROR_CONTAINS(parse_shape("(2305843009213693952,)"), "has too many values");  // 2**61 * 8
  EXPECT_ERROR_CONTAINS(parse_shape("(18446744073709551616,)"), "is too large");
  EXPECT_ERROR_CONTAINS(parse_shape("(576460752303423488,)"),  // 2**59 * 8 bytes fits
                        "truncated: header says 576460752303423488 values");
  // A zero anywhere means no data, however large the other dimensions are.
  EXPECT_TRUE(parse_shape("(9223372036854775807, 9223372036854775807, 0)").values.empty());
}

TEST(NpyHeader, ParsedRobustly) {
  const std::vector<std::string> dicts = {
      "{'shape': (3, 4), 'fortran_order': False, 'descr': '<f8'}",          // other key order
      "{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (3, 4)}",  // double quotes
      "{ 'descr' :'<f8' ,\t'fortran_order':False,'shape':( 3 ,4 , ) , }",   // odd spacing
      "{'descr': '|f8', 'fortran_order': False, 'shape': (3L, 4L), }",      // Python 2 numpy
  };
  for (const auto& dict : dicts) {
    const auto a = ntkit::parse_npy(make_npy(dict, f8_bytes(ramp())), "ok");
    EXPECT_EQ(a.shape, (std::vector<std::size_t>{3, 4})) << dict;
    EXPECT_EQ(a.values, ramp()) << dict;
  }
  // Version 2.0 with a hand-built header works the same.
  const auto v2 = ntkit::parse_npy(make_npy(kRampDict, f8_bytes(ramp()), 2), "v2");
  EXPECT_EQ(v2.values, ramp());
}

// ---- .npy encoding ---------------------------------------------------------------------------

TEST(NpyEncode, MatchesNumpySaveByteForByte) {
  RowMatrixD m(3, 2);
  m << 1.5, -2.0, 1e-310, 3.25, -0.0, 1e300;
  EXPECT_EQ(ntkit::encode_npy(m, DType::Float64), slurp(fixture("expected_encode_f8.npy")));
  // 1e300 becomes inf in float32, as numpy's astype does.
  EXPECT_EQ(ntkit::encode_npy(m, DType::Float32), slurp(fixture("expected_encode_f4.npy")));
  const RowMatrixD column = m.col(0);
  EXPECT_EQ(ntkit::encode_npy(column, DType::Float64, /*as_vector=*/true), slurp(fixture("expected_encode_vector.npy")));
}

// encode_npy of any shape against numpy's own files (make_fixtures.py): f8_3d.npy holds
// (i, j, k) = 12 i + 4 j + k in shape (2, 3, 4), f8_1d.npy [0.5, -1.5, 2.5, 1e300, -0.0],
// f8_0d.npy the scalar 3.5.
TEST(NpyEncode, AnyShapeMatchesNumpySaveByteForByte) {
  std::vector<double> cube(24);
  for (std::size_t i = 0; i < cube.size(); ++i) cube[i] = static_cast<double>(i);
  EXPECT_EQ(ntkit::encode_npy({2, 3, 4}, cube.data()), slurp(fixture("f8_3d.npy")));
  const std::vector<double> vector{0.5, -1.5, 2.5, 1e300, -0.0};
  EXPECT_EQ(ntkit::encode_npy({5}, vector.data()), slurp(fixture("f8_1d.npy")));
  const double scalar = 3.5;
  EXPECT_EQ(ntkit::encode_npy({}, &scalar), slurp(fixture("f8_0d.npy")));
  // Four axes and an empty one decode to the same shape and values.
  std::vector<double> four(2 * 1 * 3 * 2);
  for (std::size_t i = 0; i < four.size(); ++i) four[i] = 0.25 * static_cast<double>(i) - 1;
  const auto back = ntkit::parse_npy(ntkit::encode_npy({2, 1, 3, 2}, four.data()), "four");
  EXPECT_EQ(back.shape, (std::vector<std::size_t>{2, 1, 3, 2}));
  EXPECT_EQ(back.values, four);
  EXPECT_EQ(ntkit::parse_npy(ntkit::encode_npy({3, 0, 2}, nullptr), "empty").shape, (std::vector<std::size_t>{3, 0, 2}));
}

TEST(NpyEncode, HeaderIsAlignedTo64Bytes) {
  for (Eigen::Index rows : {0, 1, 9, 10, 99, 12345, 1234567}) {
    const std::string bytes = ntkit::encode_npy(RowMatrixD::Zero(rows, 3), DType::Float64);
    const std::size_t header_end = 10 + (static_cast<unsigned char>(bytes[8]) |
                                         (static_cast<std::size_t>(static_cast<unsigned char>(bytes[9])) << 8));
    EXPECT_EQ(header_end % 64, 0u) << rows;
    EXPECT_EQ(bytes[header_end - 1], '\n');
    EXPECT_EQ(bytes[6], '\x01');
    EXPECT_EQ(bytes.size(), header_end + static_cast<std::size_t>(rows) * 3 * 8);
  }
}

TEST(NpyEncode, RoundTripFloat64BitExact) {
  const double values[] = {0.0,
                           -0.0,
                           1.0 / 3.0,
                           0.1,
                           std::numeric_limits<double>::denorm_min(),
                           -std::numeric_limits<double>::denorm_min(),
                           1e-310,
                           std::numeric_limits<double>::min(),
                           std::numeric_limits<double>::max(),
                           std::numeric_limits<double>::lowest(),
                           1e300,
                           -1e-300,
                           std::numeric_limits<double>::infinity(),
                           -std::numeric_limits<double>::infinity(),
                           std::numeric_limits<double>::quiet_NaN(),
                           123456789.125};
  const Eigen::Index n = std::size(values);
  RowMatrixD m(n / 4, 4);
  std::memcpy(m.data(), values, sizeof values);
  const auto a = ntkit::parse_npy(ntkit::encode_npy(m, DType::Float64), "rt");
  EXPECT_EQ(a.shape, (std::vector<std::size_t>{4, 4}));
  ASSERT_EQ(a.values.size(), std::size(values));
  for (std::size_t i = 0; i < std::size(values); ++i) EXPECT_EQ(bits(a.values[i]), bits(values[i])) << i;
}

TEST(NpyEncode, RoundTripFloat32BitExact) {
  const float values[] = {0.0f,
                          -0.0f,
                          1.0f / 3.0f,
                          std::numeric_limits<float>::denorm_min(),
                          -std::numeric_limits<float>::denorm_min(),
                          1e-40f,
                          std::numeric_limits<float>::min(),
                          std::numeric_limits<float>::max(),
                          std::numeric_limits<float>::lowest(),
                          std::numeric_limits<float>::infinity(),
                          std::numeric_limits<float>::quiet_NaN(),
                          16777217.0f};
  RowMatrixF m(3, 4);
  std::memcpy(m.data(), values, sizeof values);
  const std::string bytes = ntkit::encode_npy(m);
  EXPECT_NE(bytes.find("'descr': '<f4'"), std::string::npos);
  const auto a = ntkit::parse_npy(bytes, "rt32");
  EXPECT_EQ(a.dtype, DType::Float32);
  ASSERT_EQ(a.values.size(), std::size(values));
  for (std::size_t i = 0; i < std::size(values); ++i) {
    EXPECT_EQ(bits(static_cast<float>(a.values[i])), bits(values[i])) << i;
  }
}

TEST(NpyEncode, Float64ToFloat32Narrowing) {
  RowMatrixD m(1, 5);
  const double float_max = std::numeric_limits<float>::max();
  m << float_max,
      float_max * (1 + 1e-9),  // just above FLT_MAX: rounds down to FLT_MAX
      0x1p128 - 0x1p103,       // halfway to 2**128: rounds to infinity
      -1e300, 0.1;
  const auto a = ntkit::parse_npy(ntkit::encode_npy(m, DType::Float32), "n");
  EXPECT_EQ(a.values[0], static_cast<double>(std::numeric_limits<float>::max()));
  EXPECT_EQ(a.values[1], static_cast<double>(std::numeric_limits<float>::max()));
  EXPECT_EQ(a.values[2], std::numeric_limits<double>::infinity());
  EXPECT_EQ(a.values[3], -std::numeric_limits<double>::infinity());
  EXPECT_EQ(a.values[4], static_cast<double>(0.1f));
}

TEST(NpyEncode, AsVectorOnlyForOneColumn) {
  EXPECT_EQ(ntkit::parse_npy(ntkit::encode_npy(RowMatrixD::Ones(4, 1), DType::Float64, true), "v").shape,
            (std::vector<std::size_t>{4}));
  EXPECT_EQ(ntkit::parse_npy(ntkit::encode_npy(RowMatrixD::Ones(4, 2), DType::Float64, true), "v").shape,
            (std::vector<std::size_t>{4, 2}));
  EXPECT_EQ(ntkit::parse_npy(ntkit::encode_npy(RowMatrixF::Ones(4, 1), true), "v").shape, (std::vector<std::size_t>{4}));
}

TEST(NpyEncode, IntegerDtypesAreRejected) {
  EXPECT_ERROR_CONTAINS(ntkit::encode_npy(RowMatrixD::Ones(1, 1), DType::Int32), "dtype int32 is not supported for writing");
}

TEST(DTypeName, Names) {
  EXPECT_STREQ(ntkit::dtype_name(DType::Float32), "float32");
  EXPECT_STREQ(ntkit::dtype_name(DType::Float64), "float64");
  EXPECT_STREQ(ntkit::dtype_name(DType::Int32), "int32");
  EXPECT_STREQ(ntkit::dtype_name(DType::Int64), "int64");
}

// ---- Text matrices ---------------------------------------------------------------------------

RowMatrixD matrix(std::initializer_list<std::initializer_list<double>> rows) {
  RowMatrixD m(static_cast<Eigen::Index>(rows.size()), static_cast<Eigen::Index>(rows.begin()->size()));
  Eigen::Index i = 0;
  for (const auto& row : rows) {
    Eigen::Index j = 0;
    for (const double v : row) m(i, j++) = v;
    ++i;
  }
  return m;
}

TEST(TextMatrix, CsvWithHeaderCommentsBlankLinesAndCrLf) {
  const std::string text =
      "# produced by a spreadsheet\r\n"
      "sepal length,sepal width,label\r\n"
      "\r\n"
      "5.1, 3.5 ,0\r\n"
      "  # an indented comment\r\n"
      "4.9,3.0,1\r\n";
  EXPECT_EQ(ntkit::parse_text_matrix(text, "t.csv"), matrix({{5.1, 3.5, 0}, {4.9, 3.0, 1}}));
}

TEST(TextMatrix, WhitespaceSeparated) {
  const std::string text = "1 2\t3\n  4\t\t5    6  \n7 8 9";  // no final newline
  EXPECT_EQ(ntkit::parse_text_matrix(text, "t.txt"), matrix({{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}));
}

TEST(TextMatrix, NumberSpellings) {
  const auto m = ntkit::parse_text_matrix("+1.5,-2e3,.25,1E-2,5e-324\n", "t");
  EXPECT_EQ(m, matrix({{1.5, -2000, 0.25, 0.01, std::numeric_limits<double>::denorm_min()}}));
  const auto special = ntkit::parse_text_matrix("nan,inf,-inf\n", "t");
  EXPECT_TRUE(std::isnan(special(0, 0)));
  EXPECT_EQ(special(0, 1), std::numeric_limits<double>::infinity());
  EXPECT_EQ(special(0, 2), -std::numeric_limits<double>::infinity());
}

TEST(TextMatrix, SingleColumnAndByteOrderMark) {
  EXPECT_EQ(ntkit::parse_text_matrix("\xEF\xBB\xBFvalue\n1\n2\n", "t"), matrix({{1}, {2}}));
}

TEST(TextMatrix, EmptyInputs) {
  EXPECT_EQ(ntkit::parse_text_matrix("", "t").size(), 0);
  EXPECT_EQ(ntkit::parse_text_matrix("# only a comment\n\n", "t").rows(), 0);
  const auto header_only = ntkit::parse_text_matrix("a,b,c\n", "t");
  EXPECT_EQ(header_only.rows(), 0);
  EXPECT_EQ(header_only.cols(), 3);
}

TEST(TextMatrix, RaggedRows) {
  EXPECT_ERROR_CONTAINS(ntkit::parse_text_matrix("1,2,3\n4,5,6\n7,8\n", "r.csv"),
                        "r.csv: line 3 has 2 columns but line 1 has 3");
}

TEST(TextMatrix, NonNumericFieldAfterTheHeader) {
  EXPECT_ERROR_CONTAINS(ntkit::parse_text_matrix("x,y\n1,2\n# c\n3,abc\n", "n.csv"),
                        "n.csv: line 4, column 2: 'abc' is not a number");
  EXPECT_ERROR_CONTAINS(ntkit::parse_text_matrix("1,2\n3,NA\n", "n.csv"), "line 2, column 2: 'NA' is not a number");
  EXPECT_ERROR_CONTAINS(ntkit::parse_text_matrix("1,2,3\n1,,3\n", "n.csv"), "line 2, column 2: empty field");
  EXPECT_ERROR_CONTAINS(ntkit::parse_text_matrix("1,2\n1e999,3\n", "n.csv"),
                        "line 2, column 1: '1e999' is outside the range of a float64");
}

// Issue 13: a damaged first row used to be dropped as a header, losing a data row silently.
TEST(TextMatrix, DamagedFirstRowIsAnErrorNotAHeader) {
  EXPECT_ERROR_CONTAINS(ntkit::parse_text_matrix("1,,3\n4,5,6\n", "h.csv"), "line 1, column 2: empty field");
  EXPECT_ERROR_CONTAINS(ntkit::parse_text_matrix("1,2,x\n4,5,6\n", "h.csv"), "line 1, column 3: 'x' is not a number");
  EXPECT_ERROR_CONTAINS(ntkit::parse_text_matrix("\"1\",\"2\",\"3\"\n4,5,6\n", "h.csv"),
                        "line 1, column 1: '\"1\"' is not a number");
  EXPECT_ERROR_CONTAINS(ntkit::parse_text_matrix("a,,c\n4,5,6\n", "h.csv"), "line 1, column 1: 'a' is not a number");
  // A header of names, quoted or not, is still a header.
  const auto quoted = ntkit::parse_text_matrix("\"a\",'b c',d\n4,5,6\n", "h.csv");
  EXPECT_EQ(quoted.rows(), 1);
  EXPECT_EQ(quoted(0, 2), 6.0);
}

TEST(TextMatrix, MixedSeparators) {
  EXPECT_ERROR_CONTAINS(ntkit::parse_text_matrix("1,2\n3 4\n", "m.csv"),
                        "line 2 separates values with whitespace but line 1 uses commas");
  EXPECT_ERROR_CONTAINS(ntkit::parse_text_matrix("1 2\n3,4\n", "m.csv"),
                        "line 2 separates values with commas but line 1 uses whitespace");
}

TEST(TextMatrix, FormatCsvIsShortestRoundTrip) {
  EXPECT_EQ(ntkit::format_csv(matrix({{1.5, -2}, {0.1, 100}})), "1.5,-2\n0.1,100\n");
  RowMatrixD m(2, 5);
  m << 1.0 / 3.0, std::numeric_limits<double>::denorm_min(), -0.0, std::numeric_limits<double>::max(),
      std::numeric_limits<double>::lowest(), std::numeric_limits<double>::quiet_NaN(),
      std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(), 1e-310, 2.2250738585072014e-308;
  const auto back = ntkit::parse_text_matrix(ntkit::format_csv(m), "rt");
  ASSERT_EQ(back.rows(), 2);
  ASSERT_EQ(back.cols(), 5);
  for (Eigen::Index i = 0; i < m.size(); ++i) {
    if (std::isnan(m.data()[i])) {
      EXPECT_TRUE(std::isnan(back.data()[i]));
    } else {
      EXPECT_EQ(bits(back.data()[i]), bits(m.data()[i])) << i;
    }
  }
}

// ---- Files -------------------------------------------------------------------------------------

using FilesTest = ntkit::test::ScratchDirectory;

TEST_F(FilesTest, ReadFileErrorsNameThePath) {
  EXPECT_ERROR_CONTAINS(ntkit::read_file(path("missing.npy")),
                        path("missing.npy") + ": cannot open: No such file or directory");
  EXPECT_ERROR_CONTAINS(ntkit::read_file(dir_.string()), dir_.string() + ": is a directory");
}

TEST_F(FilesTest, ReadFileReadError) {
  // Reading /proc/self/mem at offset 0 (unmapped memory) fails with EIO after a successful open.
  EXPECT_ERROR_CONTAINS(ntkit::read_file("/proc/self/mem"), "/proc/self/mem: cannot read: Input/output error");
}

TEST_F(FilesTest, ReadFileUnreadable) {
  if (::geteuid() == 0) GTEST_SKIP() << "root can read any file";
  write_raw("secret.csv", "1\n");
  ::chmod(path("secret.csv").c_str(), 0);
  EXPECT_ERROR_CONTAINS(ntkit::read_file(path("secret.csv")), "cannot open: Permission denied");
}

TEST_F(FilesTest, AtomicWriteIntoMissingDirectoryCreatesNothing) {
  const std::string target = path("no/such/dir/out.csv");
  EXPECT_ERROR_CONTAINS(
      ntkit::write_file_atomically(target, "1\n"),
      target + ": cannot create a temporary file in directory '" + path("no/such/dir") + "': No such file or directory");
  EXPECT_TRUE(entries().empty());
}

TEST_F(FilesTest, FailedWriteKeepsTheOldContent) {
  write_raw("out.dat", "old\n");
  // A named matrix: an Eigen expression such as RowMatrixD::Ones(2, 2) converts to both the
  // float64 and the float32 overload, so the call would be ambiguous.
  const RowMatrixD ones = RowMatrixD::Ones(2, 2);
  EXPECT_ERROR_CONTAINS(ntkit::write_matrix(path("out.dat"), ones),
                        path("out.dat") + ": unsupported extension '.dat'; use .npy");
  EXPECT_EQ(slurp(path("out.dat")), "old\n");
  EXPECT_ERROR_CONTAINS(ntkit::write_matrix(path("noext"), ones), "no file extension");
  EXPECT_ERROR_CONTAINS(ntkit::write_matrix(path("out.npy"), ones, DType::Int64), "cannot write dtype int64");
  EXPECT_EQ(entries(), std::vector<std::string>{"out.dat"});
}

TEST_F(FilesTest, FailedRenameRemovesTheTemporaryFile) {
  // A non-empty directory cannot be replaced by a file: the rename fails after the data is
  // written, and the temporary file must not be left behind.
  fs::create_directory(path("target.csv"));
  write_raw("target.csv/inside", "x");
  EXPECT_ERROR_CONTAINS(ntkit::write_file_atomically(path("target.csv"), "1\n"),
                        path("target.csv") + ": cannot replace the file");
  EXPECT_EQ(entries(), (std::vector<std::string>{"target.csv/", "target.csv/inside"}));
}

TEST_F(FilesTest, SuccessfulWriteLeavesNoTemporaryFiles) {
  write_raw("out.csv", "old content that is longer\n");
  ntkit::write_file_atomically(path("out.csv"), "new\n");
  EXPECT_EQ(slurp(path("out.csv")), "new\n");
  ntkit::write_matrix(path("m.npy"), RowMatrixD(RowMatrixD::Ones(2, 2)));
  EXPECT_EQ(entries(), (std::vector<std::string>{"m.npy", "out.csv"}));
}

TEST_F(FilesTest, WritePermissions) {
  const mode_t mask = ::umask(022);
  ntkit::write_file_atomically(path("new.csv"), "1\n");
  write_raw("private.csv", "old\n");
  ::chmod(path("private.csv").c_str(), 0600);
  ntkit::write_file_atomically(path("private.csv"), "new\n");
  ::umask(mask);
  struct stat info {};
  ASSERT_EQ(::stat(path("new.csv").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0644u);
  ASSERT_EQ(::stat(path("private.csv").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

TEST_F(FilesTest, WriteAndReadBackEveryFormat) {
  RowMatrixD m(3, 2);
  m << 0.1, -2.5, 1e-310, 3, 1e300, -0.0;
  for (const char* name : {"m.npy", "m.csv", "m.txt", "M.NPY"}) {
    ntkit::write_matrix(path(name), m);
    const RowMatrixD back = ntkit::read_matrix(path(name));
    ASSERT_EQ(back.rows(), 3) << name;
    for (Eigen::Index i = 0; i < m.size(); ++i) {
      EXPECT_EQ(bits(back.data()[i]), bits(m.data()[i])) << name;
    }
  }
  EXPECT_EQ(ntkit::parse_npy(slurp(path("m.npy")), "m").dtype, DType::Float64);

  ntkit::write_matrix(path("f.npy"), m, DType::Float32);
  EXPECT_EQ(ntkit::parse_npy(slurp(path("f.npy")), "f").dtype, DType::Float32);

  RowMatrixF mf(2, 2);
  mf << 0.1f, -0.0f, 1e-40f, 3.4028235e38f;
  for (const char* name : {"g.npy", "g.csv"}) {
    ntkit::write_matrix(path(name), mf);
    EXPECT_EQ(ntkit::read_matrix(path(name)).cast<float>(), mf) << name;
  }
  EXPECT_EQ(ntkit::parse_npy(slurp(path("g.npy")), "g").dtype, DType::Float32);

  ntkit::write_matrix(path("v.npy"), RowMatrixD(RowMatrixD::Ones(4, 1)), DType::Float64, /*as_vector=*/true);
  EXPECT_EQ(ntkit::parse_npy(slurp(path("v.npy")), "v").shape, std::vector<std::size_t>{4});
  ntkit::write_matrix(path("vf.npy"), RowMatrixF(RowMatrixF::Ones(4, 1)), /*as_vector=*/true);
  EXPECT_EQ(ntkit::parse_npy(slurp(path("vf.npy")), "v").shape, std::vector<std::size_t>{4});
}

// A stack of matrices is one (count, rows, cols) array: stack[i](r, c) at [i, r, c].
TEST_F(FilesTest, NpyStackIsCountRowsCols) {
  std::vector<RowMatrixD> stack;
  for (int i = 0; i < 3; ++i) stack.push_back(RowMatrixD::Constant(2, 4, 10.0 * i) + RowMatrixD::Identity(2, 4));
  ntkit::write_npy_stack(path("stack.npy"), stack);
  const auto back = ntkit::parse_npy(ntkit::read_file(path("stack.npy")), "stack");
  EXPECT_EQ(back.shape, (std::vector<std::size_t>{3, 2, 4}));
  for (std::size_t i = 0; i < 3; ++i)
    for (Eigen::Index r = 0; r < 2; ++r)
      for (Eigen::Index c = 0; c < 4; ++c)
        EXPECT_EQ(back.values[(i * 2 + static_cast<std::size_t>(r)) * 4 + static_cast<std::size_t>(c)], stack[i](r, c));
  // The same bytes as the general writer.
  std::vector<double> flat;
  for (const RowMatrixD& m : stack) flat.insert(flat.end(), m.data(), m.data() + m.size());
  ntkit::write_npy(path("flat.npy"), {3, 2, 4}, flat.data());
  EXPECT_EQ(ntkit::read_file(path("flat.npy")), ntkit::read_file(path("stack.npy")));
  // Unequal shapes and an empty stack are errors naming the file; nothing is written.
  stack.push_back(RowMatrixD::Zero(4, 2));
  EXPECT_ERROR_CONTAINS(ntkit::write_npy_stack(path("bad.npy"), stack), "matrix 3 is 4 x 2, matrix 0 is 2 x 4");
  EXPECT_ERROR_CONTAINS(ntkit::write_npy_stack(path("none.npy"), {}), "at least one matrix");
  EXPECT_FALSE(fs::exists(path("bad.npy")));
  EXPECT_FALSE(fs::exists(path("none.npy")));
}

TEST_F(FilesTest, FormatIsChosenByContent) {
  ntkit::write_file_atomically(path("really_npy.csv"), ntkit::encode_npy(RowMatrixD::Ones(2, 2), DType::Float64));
  EXPECT_EQ(ntkit::read_matrix(path("really_npy.csv")), RowMatrixD::Ones(2, 2));
  write_raw("really_text.npy", "1,2\n");
  EXPECT_EQ(ntkit::read_matrix(path("really_text.npy")), matrix({{1, 2}}));
  write_raw("short.npy", "\x93NU");
  EXPECT_ERROR_CONTAINS(ntkit::read_matrix(path("short.npy")), "not a .npy file");
}

TEST(ReadMatrix, Shapes) {
  const RowMatrixD vector = ntkit::read_matrix(fixture("f8_1d.npy"));
  EXPECT_EQ(vector.rows(), 5);
  EXPECT_EQ(vector.cols(), 1);
  EXPECT_EQ(ntkit::read_matrix(fixture("f8_fortran.npy")), Eigen::Map<const RowMatrixD>(ramp().data(), 3, 4));
  EXPECT_ERROR_CONTAINS(ntkit::read_matrix(fixture("f8_0d.npy")),
                        "f8_0d.npy: the array is 0-D (a single number), not a data matrix; "
                        "reshape to 2-D (n, d)");
  EXPECT_ERROR_CONTAINS(ntkit::read_matrix(fixture("f8_3d.npy")),
                        "the array has 3 dimensions, shape (2, 3, 4); reshape to 2-D (n, d)");
}

TEST(ReadMatrix, EmptyNeedsAllowEmpty) {
  EXPECT_ERROR_CONTAINS(ntkit::read_matrix(fixture("f8_empty.npy")), "f8_empty.npy: the matrix is empty (0 rows, 3 columns)");
  ntkit::ReadOptions options;
  options.allow_empty = true;
  const RowMatrixD m = ntkit::read_matrix(fixture("f8_empty.npy"), options);
  EXPECT_EQ(m.rows(), 0);
  EXPECT_EQ(m.cols(), 3);
}

TEST_F(FilesTest, EmptyTextFile) {
  write_raw("empty.csv", "");
  EXPECT_ERROR_CONTAINS(ntkit::read_matrix(path("empty.csv")),
                        path("empty.csv") + ": the matrix is empty (0 rows, 0 columns)");
  ntkit::ReadOptions options;
  options.allow_empty = true;
  EXPECT_EQ(ntkit::read_matrix(path("empty.csv"), options).size(), 0);
}

TEST_F(FilesTest, NonFiniteValuesAreRejectedWithTheirPosition) {
  write_raw("nan.csv", "a,b,c\n1,2,3\n4,5,nan\n");
  EXPECT_ERROR_CONTAINS(ntkit::read_matrix(path("nan.csv")), path("nan.csv") + ": NaN at row 1, column 2 (0-based)");
  write_raw("inf.txt", "1 -inf\n");
  EXPECT_ERROR_CONTAINS(ntkit::read_matrix(path("inf.txt")), "-Inf at row 0, column 1 (0-based)");
  ntkit::ReadOptions options;
  options.require_finite = false;
  EXPECT_TRUE(std::isnan(ntkit::read_matrix(path("nan.csv"), options)(1, 2)));
}

TEST(RequireFinite, NamesWhat) {
  RowMatrixD m = RowMatrixD::Zero(2, 2);
  EXPECT_NO_THROW(ntkit::require_finite(m, "x"));
  m(1, 0) = std::numeric_limits<double>::infinity();
  EXPECT_ERROR_CONTAINS(ntkit::require_finite(m, "the labels"), "the labels: Inf at row 1, column 0 (0-based)");
}

}  // namespace
