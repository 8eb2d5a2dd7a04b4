// The index arithmetic of the block-cyclic layout (src/distributed/distributed_matrix.hpp),
// against ScaLAPACK's own NUMROC and a brute-force dealing of blocks. No MPI session needed.
#include <gtest/gtest.h>

#include <vector>

#include "distributed/distributed_matrix.hpp"
#include "distributed/scalapack_api.hpp"

namespace ntkit::distributed {
namespace {

TEST(BlockCyclicLayout, OwnedCountIsScalapacksNumroc) {
  for (int n : {0, 1, 5, 63, 64, 65, 127, 1000, 4099})
    for (int block : {1, 3, 7, 64, 128})
      for (int processes : {1, 2, 3, 4, 7}) {
        Eigen::Index total = 0;
        for (int position = 0; position < processes; ++position) {
          const int source = 0;
          const Eigen::Index expected = numroc_(&n, &block, &position, &source, &processes);
          EXPECT_EQ(owned_count(n, block, position, processes), expected)
              << "n " << n << " block " << block << " position " << position << " of " << processes;
          total += expected;
        }
        EXPECT_EQ(total, n);
      }
}

TEST(BlockCyclicLayout, GlobalIndicesDealBlocksInTurn) {
  // Brute force: deal blocks 0, 1, 2, ... to positions 0, 1, ..., P-1, 0, ... and list each
  // position's indices in increasing order.
  for (int n : {1, 10, 23, 64, 200})
    for (int block : {1, 4, 5, 64})
      for (int processes : {1, 2, 3, 4}) {
        std::vector<std::vector<Eigen::Index>> owned(static_cast<std::size_t>(processes));
        for (Eigen::Index i = 0; i < n; ++i) owned[static_cast<std::size_t>((i / block) % processes)].push_back(i);
        for (int position = 0; position < processes; ++position) {
          const auto& mine = owned[static_cast<std::size_t>(position)];
          ASSERT_EQ(owned_count(n, block, position, processes), static_cast<Eigen::Index>(mine.size()));
          for (std::size_t local = 0; local < mine.size(); ++local)
            EXPECT_EQ(global_index(static_cast<Eigen::Index>(local), block, position, processes), mine[local]);
          // owned_count of a prefix: the local indices below a global one.
          for (Eigen::Index g = 0; g <= n; ++g) {
            Eigen::Index below = 0;
            for (const Eigen::Index i : mine) below += i < g ? 1 : 0;
            EXPECT_EQ(owned_count(g, block, position, processes), below);
          }
        }
      }
}

TEST(BlockCyclicLayout, GridIsNearSquareWithFewerRows) {
  const std::vector<std::pair<int, int>> expected = {{1, 1}, {1, 2}, {1, 3}, {2, 2}, {1, 5}, {2, 3},
                                                     {1, 7}, {2, 4}, {3, 3}, {2, 5}, {1, 11}, {3, 4}};
  for (int ranks = 1; ranks <= 12; ++ranks) {
    const auto shape = grid_shape(ranks);
    EXPECT_EQ(shape, expected[static_cast<std::size_t>(ranks - 1)]) << ranks << " ranks";
    EXPECT_EQ(shape.first * shape.second, ranks);
  }
}

}  // namespace
}  // namespace ntkit::distributed
