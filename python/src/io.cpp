// ntkit.read_idx and ntkit.read_examples: data files as NumPy arrays (idx.hpp, io.hpp).
#include <string>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "ntkit/idx.hpp"
#include "ntkit/io.hpp"

namespace ntkit::python {
namespace {

std::string fspath(const py::object& path) {
  return py::str(py::module_::import("os").attr("fspath")(path)).cast<std::string>();
}

template <class T>
py::array as_array(const IdxArray& a) {
  std::vector<py::ssize_t> shape(a.shape.begin(), a.shape.end());
  py::array_t<T> out(shape);
  T* data = out.mutable_data();
  for (std::size_t i = 0; i < a.values.size(); ++i) data[i] = static_cast<T>(a.values[i]);
  return out;
}

py::array read_idx_array(const py::object& path) {
  const std::string p = fspath(path);
  IdxArray a;
  {
    py::gil_scoped_release nogil;
    a = read_idx(p);
  }
  switch (a.type) {
    case IdxType::UInt8: return as_array<std::uint8_t>(a);
    case IdxType::Int8: return as_array<std::int8_t>(a);
    case IdxType::Int16: return as_array<std::int16_t>(a);
    case IdxType::Int32: return as_array<std::int32_t>(a);
    case IdxType::Float32: return as_array<float>(a);
    case IdxType::Float64: return as_array<double>(a);
  }
  return py::array();
}

py::array read_examples_array(const py::object& source) {
  const std::string text = py::isinstance<py::str>(source) ? source.cast<std::string>() : fspath(source);
  Examples e;
  {
    py::gil_scoped_release nogil;
    e = read_examples(text);
  }
  std::vector<py::ssize_t> shape{static_cast<py::ssize_t>(e.x.rows())};
  for (const int s : e.shape) shape.push_back(s);
  if (e.shape.size() == 1) shape.back() = static_cast<py::ssize_t>(e.x.cols());  // (n, d)
  return to_numpy(std::move(e.x)).attr("reshape")(py::tuple(py::cast(shape))).cast<py::array>();
}

}  // namespace

void bind_io(py::module_& m) {
  m.def("read_idx", &read_idx_array, py::arg("path"),
        R"doc(Reads an IDX file (MNIST's and Fashion-MNIST's format), gzip-compressed or not (by
content), as a NumPy array of the file's own shape and dtype, values as stored: images
(N, H, W) and labels (N,) of uint8 for MNIST. For a Conv network's kernel give images as
(N, H, W, 1) floats, e.g. read_idx(p)[..., None] / 255.0 (what read_examples and the
command-line tool do).

Raises ValueError naming the file for a wrong magic number or type code, a zero dimension,
a file shorter or longer than its dimensions say, or damaged gzip data; OSError-like
ValueError for a file that cannot be read.)doc");

  m.def("read_examples", &read_examples_array, py::arg("source"),
        R"doc(Reads examples as the command-line tool does, as a float64 array (n, d), (N, L, C) or
(N, H, W, C): .npy of rank 1 to 4, IDX files (images (N, H, W) become (N, H, W, 1) with
unsigned-byte pixels divided by 255), CSV / whitespace-separated text; gzip-compressed or
not. source may name rows: "x.npy[:100]" (the first 100), "x.npy[10:20]"; and
"fashion-mnist:train[:1000]" / "fashion-mnist:test" read Debian's dataset-fashion-mnist
(/usr/share/datasets/fashion-mnist; NTKIT_DATASETS replaces /usr/share/datasets), with
"fashion-mnist:train-labels" for the labels (read those with read_idx, or as examples).

Raises ValueError naming the file for anything unreadable, NaN/Inf, empty data or a
range outside the file.)doc");
}

}  // namespace ntkit::python
