// Class labels (labels.hpp; issue 18, findings 3 and 7): every integer and boolean .npy dtype,
// names in text with or without a header, a label column of a data file by name or index, and
// predictions written back in the labels' own type.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "ntkit/error.hpp"
#include "ntkit/labels.hpp"
#include "test_helpers.hpp"

namespace ntkit {
namespace {

// A version 1.0 .npy file as numpy.save writes it: magic, version, header length, the dict
// padded with spaces to a multiple of 64 bytes and ending in a newline, then the data.
std::string npy_bytes(const std::string& descr, const std::string& shape, const std::string& data) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + dict.size() + 1) % 64 != 0) dict += ' ';
  dict += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(dict.size() & 0xff);
  out += static_cast<char>(dict.size() >> 8);
  return out + dict + data;
}

class Labels : public test::ScratchDirectory {};

TEST_F(Labels, EveryIntegerAndBooleanDtypeRoundTrips) {
  write_raw("u1.npy", npy_bytes("|u1", "(3,)", std::string("\x03\x01\x03", 3)));
  const ClassLabels u1 = read_class_labels(path("u1.npy"));
  EXPECT_EQ(u1.values, (std::vector<std::int64_t>{1, 3}));
  EXPECT_EQ(u1.index, (std::vector<int>{1, 0, 1}));
  std::string ext;
  const std::string out = encode_predicted_labels(u1, {0, 1, 1}, ext);
  EXPECT_EQ(ext, ".npy");
  EXPECT_EQ(out, npy_bytes("|u1", "(3,)", std::string("\x01\x03\x03", 3)));  // numpy.save's bytes
  // int16 with negative values (sign extension), as a column (n, 1).
  write_raw("i2.npy", npy_bytes("<i2", "(2, 1)", std::string("\xfe\xff\x05\x00", 4)));
  const ClassLabels i2 = read_class_labels(path("i2.npy"));
  EXPECT_EQ(i2.values, (std::vector<std::int64_t>{-2, 5}));
  EXPECT_EQ(encode_predicted_labels(i2, {1, 0}, ext), npy_bytes("<i2", "(2,)", std::string("\x05\x00\xfe\xff", 4)));
  write_raw("b1.npy", npy_bytes("|b1", "(3,)", std::string("\x01\x00\x01", 3)));
  const ClassLabels b1 = read_class_labels(path("b1.npy"));
  EXPECT_EQ(b1.classes, (std::vector<std::string>{"False", "True"}));
  EXPECT_EQ(b1.index, (std::vector<int>{1, 0, 1}));
  const double values[2] = {2.0, 2.5};
  write_raw("f8.npy", npy_bytes("<f8", "(2,)", std::string(reinterpret_cast<const char*>(values), 16)));
  EXPECT_ERROR_CONTAINS(read_class_labels(path("f8.npy")), "row 2 has label 2.5");
  write_raw("o.npy", npy_bytes("|O", "(1,)", std::string(8, '\0')));
  EXPECT_ERROR_CONTAINS(read_class_labels(path("o.npy")), "object labels");
  write_raw("c16.npy", npy_bytes("<c16", "(1,)", std::string(16, '\0')));
  EXPECT_ERROR_CONTAINS(read_class_labels(path("c16.npy")), "unsupported label dtype '<c16'");
}

// numpy's fixed-width strings: '<U3' is three UTF-32 characters, NUL-padded; '|S3' bytes.
std::string utf32(const std::u32string& s, std::size_t width) {
  std::string out(4 * width, '\0');
  for (std::size_t k = 0; k < s.size(); ++k)
    for (std::size_t b = 0; b < 4; ++b) out[4 * k + b] = static_cast<char>((s[k] >> (8 * b)) & 0xFF);
  return out;
}

TEST_F(Labels, StringDtypesRoundTrip) {
  write_raw("u.npy", npy_bytes("<U3", "(3,)", utf32(U"ab", 3) + utf32(U"\u00e9t\u00e9", 3) + utf32(U"ab", 3)));
  const ClassLabels u = read_class_labels(path("u.npy"));
  EXPECT_FALSE(u.numeric);
  EXPECT_EQ(u.classes, (std::vector<std::string>{"ab", "\u00e9t\u00e9"}));  // "été" in UTF-8
  EXPECT_EQ(u.index, (std::vector<int>{0, 1, 0}));
  std::string ext;
  EXPECT_EQ(encode_predicted_labels(u, {1, 0}, ext), npy_bytes("<U3", "(2,)", utf32(U"\u00e9t\u00e9", 3) + utf32(U"ab", 3)));
  EXPECT_EQ(ext, ".npy");
  write_raw("s.npy", npy_bytes("|S2", "(2,)", std::string("x\0yz", 4)));
  const ClassLabels b = read_class_labels(path("s.npy"));
  EXPECT_EQ(b.classes, (std::vector<std::string>{"x", "yz"}));
  EXPECT_EQ(encode_predicted_labels(b, {1, 0}, ext), npy_bytes("|S2", "(2,)", std::string("yzx\0", 4)));
}

TEST_F(Labels, NamesInTextWithOrWithoutAHeader) {
  write_raw("h.csv", "species\nsetosa\nvirginica\nsetosa\n");
  const ClassLabels h = read_class_labels(path("h.csv"));
  EXPECT_FALSE(h.numeric);
  EXPECT_EQ(h.column_name, "species");
  EXPECT_EQ(h.classes, (std::vector<std::string>{"setosa", "virginica"}));
  EXPECT_EQ(h.index, (std::vector<int>{0, 1, 0}));
  std::string ext;
  EXPECT_EQ(encode_predicted_labels(h, {1, 1}, ext), "species\nvirginica\nvirginica\n");
  EXPECT_EQ(ext, ".csv");
  // No header: the first name occurs again, so it is a label.
  write_raw("n.csv", "setosa\nsetosa\nvirginica\n");
  EXPECT_EQ(read_class_labels(path("n.csv")).index, (std::vector<int>{0, 0, 1}));
  write_raw("i.csv", "class\n2\n-1\n2\n");
  const ClassLabels i = read_class_labels(path("i.csv"));
  EXPECT_TRUE(i.numeric);
  EXPECT_EQ(i.values, (std::vector<std::int64_t>{-1, 2}));
  write_raw("two.csv", "1,2\n3,4\n");
  EXPECT_ERROR_CONTAINS(read_class_labels(path("two.csv")), "--label-column");
}

TEST_F(Labels, LabelColumnByNameOrIndex) {
  write_raw("d.csv", "a,b,kind\n1,2,x\n3,4,y\n5,6,x\n");
  const LabeledData by_name = read_labeled_data(path("d.csv"), "kind", "--label-column");
  EXPECT_EQ(by_name.x, (RowMatrixD(3, 2) << 1, 2, 3, 4, 5, 6).finished());
  EXPECT_EQ(by_name.labels->index, (std::vector<int>{0, 1, 0}));
  const LabeledData by_index = read_labeled_data(path("d.csv"), "-1", "--label-column");
  EXPECT_EQ(by_index.x, by_name.x);
  write_raw("e.csv", "1,2,3\n4,5,6\n");
  const LabeledData first = read_labeled_data(path("e.csv"), "0", "--label-column");
  EXPECT_EQ(first.labels->values, (std::vector<std::int64_t>{1, 4}));
  EXPECT_EQ(first.x, (RowMatrixD(2, 2) << 2, 3, 5, 6).finished());
  // Column 1 as labels leaves the names of "kind" among the features.
  EXPECT_ERROR_CONTAINS(read_labeled_data(path("d.csv"), "1", "--label-column"), "'x' is not a number");
  EXPECT_ERROR_CONTAINS(read_labeled_data(path("d.csv"), "type", "--label-column"),
                        "no column 'type'; its columns are a, b, kind");
  EXPECT_ERROR_CONTAINS(read_labeled_data(path("d.csv"), "3", "--label-column"), "give 0 to 2, or -1 for the last");
  // A test file: with the label column it has labels; with the features alone it has none.
  write_raw("t.csv", "7,8\n");
  const LabeledData test = read_labeled_data(path("t.csv"), "kind", "--label-column", 2);
  EXPECT_FALSE(test.labels.has_value());
  EXPECT_EQ(test.x, (RowMatrixD(1, 2) << 7, 8).finished());
  write_raw("nohead.csv", "1,2,x\n");
  EXPECT_ERROR_CONTAINS(read_labeled_data(path("nohead.csv"), "kind", "--label-column"), "no header line");
}

TEST(LabelsAlign, TestClassesMapToTheTrainingClasses) {
  ClassLabels train, test;
  train.numeric = test.numeric = false;
  train.classes = {"a", "b", "c"};
  test.classes = {"b", "z"};
  test.index = {0, 1, 0};
  align_classes(train, test, "yt.csv");
  EXPECT_EQ(test.index, (std::vector<int>{1, -1, 1}));
  ClassLabels numbers;
  numbers.values = {1};
  numbers.classes = {"1"};
  EXPECT_ERROR_CONTAINS(align_classes(train, numbers, "yt.npy"),
                        "yt.npy: its labels are numbers but the training labels are names");
}

}  // namespace
}  // namespace ntkit
