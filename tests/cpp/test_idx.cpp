// IDX files (MNIST's format, plain and gzip), examples of any shape (read_examples), data
// sources (row ranges, the fashion-mnist shorthand) and labels from IDX files. Every file is
// written here; gzip through zlib itself, so the reader is checked against an independent writer.
#include <stdlib.h>
#include <zlib.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ntkit/error.hpp"
#include "ntkit/idx.hpp"
#include "ntkit/io.hpp"
#include "ntkit/labels.hpp"
#include "test_helpers.hpp"

namespace {

using ntkit::IdxArray;
using ntkit::IdxType;
using ntkit::RowMatrixD;
using ntkit::test::error_of;

// An IDX header: magic (0, 0, type, rank) and big-endian dimensions.
std::string header(unsigned char type, const std::vector<std::uint32_t>& dims) {
  std::string out{'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
  for (const std::uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((d >> shift) & 0xff));
  return out;
}

// n images of h x w, pixel (i, r, c) = (i * 7 + r * 3 + c) % 256.
std::string images(std::uint32_t n, std::uint32_t h, std::uint32_t w) {
  std::string out = header(0x08, {n, h, w});
  for (std::uint32_t i = 0; i < n; ++i)
    for (std::uint32_t r = 0; r < h; ++r)
      for (std::uint32_t c = 0; c < w; ++c) out.push_back(static_cast<char>((i * 7 + r * 3 + c) % 256));
  return out;
}

std::string labels(const std::vector<unsigned char>& values) {
  std::string out = header(0x08, {static_cast<std::uint32_t>(values.size())});
  for (const unsigned char v : values) out.push_back(static_cast<char>(v));
  return out;
}

class IdxFiles : public ntkit::test::ScratchDirectory {
 protected:
  // Writes `bytes` gzip-compressed with zlib's own gzip writer.
  void write_gz(const std::string& name, const std::string& bytes) const {
    gzFile f = gzopen(path(name).c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
    ASSERT_EQ(gzclose(f), Z_OK);
  }
};

TEST(IdxParse, EveryTypeBigEndian) {
  // uint8 255, int8 -2, int16 258 and -2, int32 -70000, float32 1.5, float64 -0.25
  EXPECT_EQ(ntkit::parse_idx(header(0x08, {1}) + "\xff", "u8").values, std::vector<double>{255});
  EXPECT_EQ(ntkit::parse_idx(header(0x09, {1}) + "\xfe", "i8").values, std::vector<double>{-2});
  EXPECT_EQ(ntkit::parse_idx(header(0x0B, {2}) + std::string("\x01\x02\xff\xfe", 4), "i16").values,
            (std::vector<double>{258, -2}));
  EXPECT_EQ(ntkit::parse_idx(header(0x0C, {1}) + std::string("\xff\xfe\xee\x90", 4), "i32").values,
            std::vector<double>{-70000});
  EXPECT_EQ(ntkit::parse_idx(header(0x0D, {1}) + std::string("\x3f\xc0\x00\x00", 4), "f32").values, std::vector<double>{1.5});
  EXPECT_EQ(ntkit::parse_idx(header(0x0E, {1}) + std::string("\xbf\xd0\0\0\0\0\0\0", 8), "f64").values,
            std::vector<double>{-0.25});
  const IdxArray a = ntkit::parse_idx(images(3, 2, 4), "img");
  EXPECT_EQ(a.shape, (std::vector<std::size_t>{3, 2, 4}));
  EXPECT_EQ(a.type, IdxType::UInt8);
  EXPECT_EQ(a.values[1 * 8 + 1 * 4 + 2], 7 + 3 + 2);
}

TEST(IdxParse, EncodeRoundTripsAndRanges) {
  const std::vector<double> v{-3, 0.5, 7, 1e300, -0.0, 42};
  for (const IdxType t : {IdxType::Float32, IdxType::Float64}) {
    const std::vector<double> values = t == IdxType::Float32 ? std::vector<double>{-3, 0.5, 7, 1e30, -0.0, 42} : v;
    const IdxArray a = ntkit::parse_idx(ntkit::encode_idx(t, {3, 2}, values), "x");
    EXPECT_EQ(a.values, (t == IdxType::Float32 ? std::vector<double>{-3, 0.5, 7, static_cast<double>(1e30f), -0.0, 42} : v));
  }
  const std::string bytes = ntkit::encode_idx(IdxType::Int16, {3, 2}, {1, -2, 3, -4, 5, -6});
  const IdxArray middle = ntkit::parse_idx(bytes, "x", ntkit::RowRange{1, 2});
  EXPECT_EQ(middle.shape, (std::vector<std::size_t>{1, 2}));
  EXPECT_EQ(middle.values, (std::vector<double>{3, -4}));
  EXPECT_EQ(ntkit::parse_idx(bytes, "x", ntkit::RowRange{2, std::nullopt}).values, (std::vector<double>{5, -6}));
  EXPECT_NE(error_of([&] {
              ntkit::parse_idx(bytes, "x", ntkit::RowRange{0, 4});
            }).find("x: rows 0:4 asked for, but the file has 3 rows"),
            std::string::npos);
}

TEST(IdxParse, ClearErrors) {
  const auto message = [](const std::string& bytes) { return error_of([&] { ntkit::parse_idx(bytes, "f.idx"); }); };
  EXPECT_NE(message("\0\0").find("f.idx: too short for an IDX file"), std::string::npos);
  EXPECT_NE(message(std::string("\x01\0\x08\x01", 4) + "....")
                .find("not an IDX file: its magic number must start with two zero bytes, got 0x01 0x00"),
            std::string::npos);
  EXPECT_NE(message(header(0x07, {1}) + "x").find("unknown IDX type code 0x07"), std::string::npos);
  EXPECT_NE(message(header(0x08, {})).find("IDX rank 0"), std::string::npos);
  EXPECT_NE(message(header(0x08, {2, 3}).substr(0, 9)).find("ends inside the 2 dimensions"), std::string::npos);
  EXPECT_NE(message(header(0x08, {2, 0})).find("dimension 1 is 0 (shape (2, 0))"), std::string::npos);
  const std::string cut = images(4, 3, 3);
  EXPECT_NE(message(cut.substr(0, cut.size() - 5))
                .find("truncated IDX file: the dimensions (4, 3, 3) say 36 uint8 values (36 bytes) but only 31 bytes"),
            std::string::npos);
  EXPECT_NE(message(cut + "zz").find("unexpected data after the IDX array"), std::string::npos);
  EXPECT_NE(message(header(0x0C, {0xffffffffu, 0xffffffffu, 0xffffffffu})).find("too many values"), std::string::npos);
}

TEST_F(IdxFiles, GzipWrittenByZlibReadsAsPlain) {
  const std::string plain = images(5, 4, 3);
  write_raw("plain-idx3-ubyte", plain);
  write_gz("packed-idx3-ubyte.gz", plain);
  const IdxArray a = ntkit::read_idx(path("plain-idx3-ubyte"));
  const IdxArray b = ntkit::read_idx(path("packed-idx3-ubyte.gz"));
  EXPECT_EQ(a.shape, b.shape);
  EXPECT_EQ(a.values, b.values);
  // Our writer, and two members concatenated (as `cat a.gz b.gz` makes), read as gunzip does.
  EXPECT_EQ(ntkit::gunzip(ntkit::gzip(plain), "x"), plain);
  const std::string half = plain.substr(0, 20);
  EXPECT_EQ(ntkit::gunzip(ntkit::gzip(half) + ntkit::gzip(plain.substr(20)), "x"), plain);
}

TEST_F(IdxFiles, DamagedGzipIsAClearError) {
  const std::string packed = ntkit::gzip(images(50, 8, 8));
  write_raw("cut.gz", packed.substr(0, packed.size() / 2));
  EXPECT_NE(error_of([&] { ntkit::read_idx(path("cut.gz")); }).find(path("cut.gz") + ": truncated gzip data"),
            std::string::npos);
  std::string corrupt = packed;
  for (std::size_t i = 20; i < 40; ++i) corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5a);
  write_raw("corrupt.gz", corrupt);
  EXPECT_NE(error_of([&] { ntkit::read_idx(path("corrupt.gz")); }).find("corrupt gzip data"), std::string::npos);
  write_raw("trailing.gz", packed + "garbage");
  EXPECT_NE(error_of([&] { ntkit::read_idx(path("trailing.gz")); }).find("unexpected data after the gzip stream"),
            std::string::npos);
  // A complete gzip stream of a cut-off IDX file: the IDX check reports it.
  const std::string plain = images(4, 3, 3);
  write_gz("short-idx.gz", plain.substr(0, plain.size() - 1));
  EXPECT_NE(error_of([&] { ntkit::read_examples(path("short-idx.gz")); }).find("truncated IDX file"), std::string::npos);
}

TEST_F(IdxFiles, ImagesBecomeOneChannelScaledToUnitInterval) {
  write_gz("train-images-idx3-ubyte.gz", images(6, 2, 3));
  const ntkit::Examples e = ntkit::read_examples(path("train-images-idx3-ubyte.gz"));
  EXPECT_EQ(e.shape, (std::vector<int>{2, 3, 1}));
  EXPECT_EQ(e.input_shape(), (std::vector<int>{2, 3, 1}));
  ASSERT_EQ(e.x.rows(), 6);
  ASSERT_EQ(e.x.cols(), 6);
  EXPECT_EQ(e.x(4, 1 * 3 + 2), (4 * 7 + 3 + 2) / 255.0);  // row-major pixels, divided by 255
  // Row ranges: the first N, a middle range, from A on.
  const ntkit::Examples first = ntkit::read_examples(path("train-images-idx3-ubyte.gz") + "[:2]");
  EXPECT_EQ(first.x, RowMatrixD(e.x.topRows(2)));
  const ntkit::Examples middle = ntkit::read_examples(path("train-images-idx3-ubyte.gz") + "[1:4]");
  EXPECT_EQ(middle.x, RowMatrixD(e.x.middleRows(1, 3)));
  EXPECT_EQ(ntkit::read_examples(path("train-images-idx3-ubyte.gz") + "[5:]").x, RowMatrixD(e.x.bottomRows(1)));
  EXPECT_NE(error_of([&] {
              ntkit::read_examples(path("train-images-idx3-ubyte.gz") + "[:7]");
            }).find("rows 0:7 asked for, but the file has 6 rows"),
            std::string::npos);
  EXPECT_NE(error_of([&] { ntkit::read_examples(path("train-images-idx3-ubyte.gz") + "[3:3]"); }).find("holds no rows"),
            std::string::npos);
  EXPECT_NE(error_of([&] { ntkit::read_examples(path("train-images-idx3-ubyte.gz") + "[:-1]"); }).find("is not a row number"),
            std::string::npos);
  // Not images: IDX vectors and matrices are read as stored (no scaling).
  write_raw("m.idx", ntkit::encode_idx(IdxType::UInt8, {2, 2}, {0, 255, 3, 4}));
  const ntkit::Examples m = ntkit::read_examples(path("m.idx"));
  EXPECT_EQ(m.shape, std::vector<int>{2});
  EXPECT_EQ(m.x(0, 1), 255);
}

TEST_F(IdxFiles, NpyOfEveryRank) {
  const std::vector<double> v(2 * 3 * 4 * 2, 0.5);
  ntkit::write_npy(path("x4.npy"), {2, 3, 4, 2}, v.data());
  ntkit::write_npy(path("x3.npy"), {2, 12, 2}, v.data());
  ntkit::write_npy(path("x2.npy"), {2, 24}, v.data());
  ntkit::write_npy(path("x5.npy"), {2, 3, 2, 2, 2}, v.data());
  EXPECT_EQ(ntkit::read_examples(path("x4.npy")).shape, (std::vector<int>{3, 4, 2}));
  EXPECT_EQ(ntkit::read_examples(path("x3.npy")).shape, (std::vector<int>{12, 2}));
  const ntkit::Examples flat = ntkit::read_examples(path("x2.npy"));
  EXPECT_EQ(flat.shape, std::vector<int>{24});
  EXPECT_TRUE(flat.input_shape().empty());
  EXPECT_NE(error_of([&] {
              ntkit::read_examples(path("x5.npy"));
            }).find("the array has 5 dimensions, shape (2, 3, 2, 2, 2); examples are 2-D"),
            std::string::npos);
  // read_matrix still takes 2-D only, and its error names the way to images.
  EXPECT_NE(error_of([&] { ntkit::read_matrix(path("x4.npy")); }).find("read_examples"), std::string::npos);
  // gzip-compressed .npy too.
  write_gz("x4.npy.gz", ntkit::read_file(path("x4.npy")));
  EXPECT_EQ(ntkit::read_examples(path("x4.npy.gz")).x, ntkit::read_examples(path("x4.npy")).x);
}

TEST_F(IdxFiles, NonFiniteAndEmptyNameTheExample) {
  std::vector<double> v(2 * 2 * 3 * 1, 1.0);
  v[1 * 6 + 1 * 3 + 2] = std::numeric_limits<double>::quiet_NaN();  // example 1, position (1, 2, 0)
  ntkit::write_npy(path("nan.npy"), {2, 2, 3, 1}, v.data());
  EXPECT_NE(error_of([&] { ntkit::read_examples(path("nan.npy")); }).find("nan.npy: NaN in example 1 at position (1, 2, 0)"),
            std::string::npos);
  ntkit::write_npy(path("none.npy"), {0, 2, 3, 1}, v.data());
  EXPECT_NE(error_of([&] { ntkit::read_examples(path("none.npy")); }).find("no data: shape (0, 2, 3, 1) has no examples"),
            std::string::npos);
  EXPECT_NE(error_of([&] { ntkit::read_examples(path("missing.npy")); }).find("missing.npy: cannot open"), std::string::npos);
}

TEST_F(IdxFiles, ShapesMustAgree) {
  ntkit::Examples a, b;
  a.x = RowMatrixD::Zero(2, 12);
  a.shape = {2, 3, 2};
  b.x = RowMatrixD::Zero(2, 12);
  b.shape = {3, 2, 2};
  EXPECT_NE(error_of([&] { ntkit::require_same_example_shape(a, "--x1 a.npy", b, "b.npy"); })
                .find("b.npy: examples of shape (3, 2, 2) but --x1 a.npy has examples of shape (2, 3, 2); both need the same "
                      "shape (the same number of values"),
            std::string::npos);
  b.shape = {12};
  EXPECT_NE(error_of([&] { ntkit::require_same_example_shape(a, "a", b, "b"); }).find("shape (12,)"), std::string::npos);
}

TEST_F(IdxFiles, LabelsFromIdxWithRanges) {
  write_gz("train-labels-idx1-ubyte.gz", labels({9, 0, 3, 0, 9, 7}));
  const ntkit::ClassLabels all = ntkit::read_class_labels(path("train-labels-idx1-ubyte.gz"));
  EXPECT_EQ(all.classes, (std::vector<std::string>{"0", "3", "7", "9"}));
  EXPECT_EQ(all.index, (std::vector<int>{3, 0, 1, 0, 3, 2}));
  EXPECT_EQ(all.npy_descr, "|u1");  // predictions are written as uint8, as the labels
  // The first three: classes 0, 3, 9 only, renumbered in order.
  const ntkit::ClassLabels first = ntkit::read_class_labels(path("train-labels-idx1-ubyte.gz") + "[:3]");
  EXPECT_EQ(first.classes, (std::vector<std::string>{"0", "3", "9"}));
  EXPECT_EQ(first.values, (std::vector<std::int64_t>{0, 3, 9}));
  EXPECT_EQ(first.index, (std::vector<int>{2, 0, 1}));
  EXPECT_NE(error_of([&] { ntkit::read_class_labels(path("train-labels-idx1-ubyte.gz") + "[:9]"); }).find("has 6 labels"),
            std::string::npos);
  write_raw("images", images(2, 2, 2));
  EXPECT_NE(error_of([&] { ntkit::read_class_labels(path("images")); }).find("is this a file of images?"), std::string::npos);
}

TEST_F(IdxFiles, FashionMnistShorthand) {
  std::filesystem::create_directories(dir_ / "fashion-mnist");
  write_gz("fashion-mnist/train-images-idx3-ubyte.gz", images(5, 3, 3));
  write_gz("fashion-mnist/train-labels-idx1-ubyte.gz", labels({1, 2, 1, 0, 2}));
  ASSERT_EQ(::setenv("NTKIT_DATASETS", dir_.c_str(), 1), 0);
  const ntkit::DataSource s = ntkit::parse_data_source("fashion-mnist:train[:4]");
  EXPECT_EQ(s.path, path("fashion-mnist/train-images-idx3-ubyte.gz"));
  EXPECT_EQ(s.end, 4u);
  EXPECT_EQ(ntkit::labels_source_for(s), "fashion-mnist:train-labels[0:4]");
  EXPECT_EQ(ntkit::read_examples("fashion-mnist:train[:4]").x.rows(), 4);
  EXPECT_EQ(ntkit::read_class_labels(ntkit::labels_source_for(s)).size(), 4u);
  EXPECT_NE(
      error_of([] { ntkit::parse_data_source("fashion-mnist:test"); }).find("install Debian's package dataset-fashion-mnist"),
      std::string::npos);
  EXPECT_NE(error_of([] { ntkit::parse_data_source("fashion-mnist:validation"); }).find("unknown part 'validation'"),
            std::string::npos);
  ASSERT_EQ(::unsetenv("NTKIT_DATASETS"), 0);
  // A file whose very name looks like a range is read as it is.
  write_raw("odd[:1]", "1,1\n1,1\n");
  EXPECT_EQ(ntkit::read_examples(path("odd[:1]")).x.rows(), 2);
}

}  // namespace
