// Class labels as a user has them, and predictions written back in the same type.
//
// Labels come from a file of their own (a .npy vector of any integer, boolean, integral float
// or string dtype; a one-column text file of integers or of names such as "setosa") or from one
// column of a data file (a CSV with a header: by name; any file: by index, negative from the
// end). Internally a label is its class number 0 … C−1, classes sorted by value (numbers) or
// as text (names). Predictions are written as the labels were: a .npy of the labels' dtype,
// or text (one label per line, under the column's name when the labels had one).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ntkit/types.hpp"

namespace ntkit {

struct ClassLabels {
  std::vector<int> index;            // per point: its class, or −1 for a class the training set lacks
  std::vector<std::string> classes;  // each class as text ("0", "setosa", "True")
  bool numeric = true;               // integer (or boolean) classes, with their values below
  std::vector<std::int64_t> values;  // numeric: each class's value, ascending
  std::string npy_descr;             // from a .npy: its dtype ("|u1", "<i8", "|b1", "<f8", "<U10" …); else empty
  std::string column_name;           // from text with a header: the column's name

  std::size_t size() const { return index.size(); }
  /// How many points each class has (index −1 not counted).
  std::vector<std::size_t> class_counts() const;
};

/// Reads a file of labels: a .npy of shape (n,) or (n, 1), or text with one column. Errors
/// name the file and, for text, the line.
ClassLabels read_class_labels(const std::string& path);

/// A data file whose labels are one of its columns: the other columns as numbers, the labels.
struct LabeledData {
  RowMatrixD x;
  std::optional<ClassLabels> labels;  // absent when the file has no label column (test inputs)
};

/// `column`: a header name, or an integer index (0 first, −1 last). `feature_count`: when set
/// (a test file), a file with exactly that many columns has no label column; otherwise the
/// column must be there. Errors name the file, the option `option` and the columns there are.
LabeledData read_labeled_data(const std::string& path, const std::string& column, const std::string& option,
                              std::optional<Eigen::Index> feature_count = std::nullopt);

/// Re-expresses `labels` (e.g. a test set's) in the classes of `reference` (the training
/// set's): index −1 for a class the reference lacks. Error if one is numeric and the other not.
void align_classes(const ClassLabels& reference, ClassLabels& labels, const std::string& what);

/// The predicted classes (indices into labels.classes) as a file in the labels' own type:
/// .npy bytes of labels.npy_descr (shape (m,)) when the labels came from a .npy, else text.
/// `extension` receives ".npy" or ".csv".
std::string encode_predicted_labels(const ClassLabels& labels, const std::vector<int>& predicted, std::string& extension);

}  // namespace ntkit
