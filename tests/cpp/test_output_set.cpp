// OutputSet: a command's output files appear together or not at all (io.hpp); and the two
// memory-mapped kernels of write_analytic_kernels_npy likewise.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ntkit/analytic.hpp"
#include "ntkit/error.hpp"
#include "ntkit/io.hpp"
#include "ntkit/network.hpp"
#include "test_helpers.hpp"

namespace fs = std::filesystem;

namespace ntkit {
namespace {

using FilesOutputSet = test::ScratchDirectory;

TEST_F(FilesOutputSet, NothingChangesBeforeCommit) {
  write_raw("a.csv", "old a\n");
  OutputSet outputs;
  outputs.add_file(path("a.csv"), "new a\n");
  outputs.add_matrix(path("b.npy"), RowMatrixD(RowMatrixD::Ones(2, 3)));
  EXPECT_EQ(read_file(path("a.csv")), "old a\n");
  EXPECT_FALSE(fs::exists(path("b.npy")));
  EXPECT_EQ(entries().size(), 3u);  // a.csv and two hidden temporaries
  outputs.commit();
  EXPECT_EQ(read_file(path("a.csv")), "new a\n");
  EXPECT_EQ(read_matrix(path("b.npy")), RowMatrixD(RowMatrixD::Ones(2, 3)));
  EXPECT_EQ(entries(), (std::vector<std::string>{"a.csv", "b.npy"}));
}

TEST_F(FilesOutputSet, DestroyedWithoutCommitLeavesEverythingAsItWas) {
  write_raw("a.csv", "old a\n");
  {
    OutputSet outputs;
    outputs.create_directory(path("run"));
    outputs.add_file(path("a.csv"), "new a\n");
    outputs.add_npy_stack(path("run/s.npy"), {RowMatrixD(RowMatrixD::Zero(2, 2))});
  }
  EXPECT_EQ(read_file(path("a.csv")), "old a\n");
  EXPECT_EQ(entries(), std::vector<std::string>{"a.csv"});
}

TEST_F(FilesOutputSet, ADirectoryInALaterFilesPlaceChangesNothing) {
  write_raw("K.nngp.npy", "old nngp");
  fs::create_directory(path("K.ntk.npy"));
  write_raw("K.ntk.npy/inside", "x");
  OutputSet outputs;
  outputs.add_matrix(path("K.nngp.npy"), RowMatrixD(RowMatrixD::Ones(2, 2)));
  outputs.add_matrix(path("K.ntk.npy"), RowMatrixD(RowMatrixD::Ones(2, 2)));
  EXPECT_ERROR_CONTAINS(outputs.commit(), path("K.ntk.npy") + ": is a directory");
  EXPECT_EQ(read_file(path("K.nngp.npy")), "old nngp");
  EXPECT_EQ(entries(), (std::vector<std::string>{"K.nngp.npy", "K.ntk.npy/", "K.ntk.npy/inside"}));
}

TEST_F(FilesOutputSet, DirectoriesAreCreatedOnlyByTheCommit) {
  OutputSet outputs;
  outputs.create_directory(path("a/b"));
  outputs.add_file(path("a/b/one.json"), "{}\n");
  outputs.add_matrix(path("a/b/two.csv"), RowMatrixD(RowMatrixD::Ones(1, 1)));
  EXPECT_FALSE(fs::exists(path("a")));  // the temporaries wait in the nearest existing ancestor
  outputs.commit();
  EXPECT_EQ(entries(), (std::vector<std::string>{"a/", "a/b/", "a/b/one.json", "a/b/two.csv"}));
}

TEST_F(FilesOutputSet, AFailedCommitRemovesTheDirectoriesItCreated) {
  fs::create_directory(path("x.npy"));  // fails the check before anything is created
  OutputSet outputs;
  outputs.create_directory(path("new/run"));
  outputs.add_file(path("new/run/summary.json"), "{}\n");
  outputs.add_matrix(path("x.npy"), RowMatrixD(RowMatrixD::Ones(1, 1)));
  EXPECT_THROW(outputs.commit(), Error);
  EXPECT_EQ(entries(), std::vector<std::string>{"x.npy/"});
}

TEST_F(FilesOutputSet, ErrorsAreReportedWhenAdded) {
  write_raw("file", "x");
  OutputSet outputs;
  EXPECT_ERROR_CONTAINS(outputs.create_directory(path("file")), "exists and is not a directory");
  EXPECT_ERROR_CONTAINS(outputs.add_matrix(path("m.dat"), RowMatrixD(RowMatrixD::Ones(1, 1))),
                        "unsupported extension '.dat'");
  EXPECT_ERROR_CONTAINS(outputs.add_file(path("missing/a.json"), "{}"), "cannot create a temporary file");
  outputs.add_file(path("a.json"), "{}");
  EXPECT_ERROR_CONTAINS(outputs.add_file(dir_.string() + "/./a.json", "{}"), "given for two outputs");
  outputs.commit();
  EXPECT_ERROR_CONTAINS(outputs.commit(), "already committed");
  EXPECT_EQ(entries(), (std::vector<std::string>{"a.json", "file"}));
}

TEST_F(FilesOutputSet, KeepsTheOldFilesPermissions) {
  write_raw("private.json", "old");
  ::chmod(path("private.json").c_str(), 0600);
  OutputSet outputs;
  outputs.add_file(path("private.json"), "new");
  outputs.commit();
  struct stat info {};
  ASSERT_EQ(::stat(path("private.json").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

TEST_F(FilesOutputSet, AnalyticKernelsAppearTogetherOrNotAtAll) {
  const RowMatrixD x = RowMatrixD::Random(9, 3);
  const Network net = parse_network("Dense(8), Relu, Dense(1)");
  write_raw("k.nngp.npy", "old nngp");
  fs::create_directory(path("k.ntk.npy"));
  write_raw("k.ntk.npy/inside", "x");
  EXPECT_ERROR_CONTAINS(
      write_analytic_kernels_npy(net, x, nullptr, DType::Float64, {path("k.nngp.npy"), path("k.ntk.npy")}, {}),
      "is a directory");
  EXPECT_EQ(read_file(path("k.nngp.npy")), "old nngp");
  EXPECT_EQ(entries(), (std::vector<std::string>{"k.nngp.npy", "k.ntk.npy/", "k.ntk.npy/inside"}));
  fs::remove_all(path("k.ntk.npy"));
  write_analytic_kernels_npy(net, x, nullptr, DType::Float32, {path("k.nngp.npy"), path("k.ntk.npy")}, {});
  EXPECT_EQ(read_matrix(path("k.ntk.npy")).rows(), 9);
  EXPECT_EQ(read_matrix(path("k.nngp.npy")).rows(), 9);
  EXPECT_EQ(entries(), (std::vector<std::string>{"k.nngp.npy", "k.ntk.npy"}));
}

}  // namespace
}  // namespace ntkit
