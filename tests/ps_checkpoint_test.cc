// Checkpoint files (ps/checkpoint.h): a round trip, and every way a file can be unusable
// (a flipped byte, a short file, another job's) refused with a message saying which; a crash
// between writing and renaming leaves the previous checkpoint the one that loads.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "base/error.h"
#include "ps/checkpoint.h"
#include "tests/e2e_util.h"

namespace gw {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr uint64_t kFingerprint = 0x1234abcd5678ef01ull;

Checkpoint Make(uint64_t iteration, size_t n = 1000) {
  Checkpoint c;
  c.fingerprint = kFingerprint;
  c.job = "workload=linreg seed=1 workers=2";
  c.server_rank = 0;
  c.shard_begin = 0;
  c.iteration = iteration;
  c.optimizer_steps = iteration;
  for (size_t i = 0; i < n; ++i) {
    c.params.push_back(static_cast<float>(i) * 0.5f + static_cast<float>(iteration));
    c.velocity.push_back(-static_cast<float>(i) / 3.0f);
  }
  return c;
}

CheckpointOwner Owner(size_t n = 1000) { return {kFingerprint, "this job", 0, 0, n}; }

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

void FlipByte(const std::string& path, size_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char b = 0;
  f.read(&b, 1);
  b = static_cast<char>(b ^ 0x10);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&b, 1);
}

class CheckpointTest : public ::testing::Test {
 protected:
  e2e::TempDir dir_;
};

TEST_F(CheckpointTest, RoundTripKeepsEveryField) {
  const Checkpoint c = Make(40);
  uint64_t bytes = 0;
  const std::string path = SaveCheckpoint(dir_.path(), c, 2, &bytes);
  EXPECT_EQ(path, CheckpointPath(dir_.path(), 0, 40));
  EXPECT_EQ(bytes, fs::file_size(path));
  const Checkpoint r = ReadCheckpoint(path);
  EXPECT_EQ(r.fingerprint, c.fingerprint);
  EXPECT_EQ(r.job, c.job);
  EXPECT_EQ(r.server_rank, c.server_rank);
  EXPECT_EQ(r.shard_begin, c.shard_begin);
  EXPECT_EQ(r.iteration, 40u);
  EXPECT_EQ(r.optimizer_steps, 40u);
  EXPECT_EQ(r.params, c.params);  // bit for bit
  EXPECT_EQ(r.velocity, c.velocity);
  const auto loaded = LoadNewestCheckpoint(dir_.path(), Owner());
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->path, path);
  EXPECT_TRUE(loaded->skipped.empty());
}

TEST_F(CheckpointTest, NoCheckpointInDirectoryIsNotAnError) {
  EXPECT_FALSE(LoadNewestCheckpoint(dir_.path(), Owner()).has_value());
  EXPECT_FALSE(LoadNewestCheckpoint(dir_ / "missing", Owner()).has_value());
  // Another rank's checkpoint is not this rank's.
  Checkpoint other = Make(10);
  other.server_rank = 1;
  SaveCheckpoint(dir_.path(), other);
  EXPECT_FALSE(LoadNewestCheckpoint(dir_.path(), Owner()).has_value());
}

TEST_F(CheckpointTest, CorruptedPayloadByteIsRefused) {
  const std::string path = SaveCheckpoint(dir_.path(), Make(10));
  FlipByte(path, fs::file_size(path) - 7);  // inside the velocity
  EXPECT_THAT(ErrorOf([&] { ReadCheckpoint(path); }), HasSubstr("checksum mismatch"));
  EXPECT_THAT(ErrorOf([&] { LoadNewestCheckpoint(dir_.path(), Owner()); }),
              HasSubstr("no usable checkpoint of server 0"));
}

TEST_F(CheckpointTest, CorruptedHeaderFieldIsRefused) {
  const std::string path = SaveCheckpoint(dir_.path(), Make(10));
  FlipByte(path, 8 + 4 + 4 + 8 + 4 + 4 + 8);  // the iteration
  EXPECT_THAT(ErrorOf([&] { ReadCheckpoint(path); }), HasSubstr("checksum mismatch"));
  FlipByte(path, 8 + 4 + 4 + 8 + 4 + 4 + 8);  // restored
  FlipByte(path, 0);                          // the magic
  EXPECT_THAT(ErrorOf([&] { ReadCheckpoint(path); }), HasSubstr("bad magic"));
}

TEST_F(CheckpointTest, TruncatedFileIsRefused) {
  const std::string path = SaveCheckpoint(dir_.path(), Make(10));
  const auto size = fs::file_size(path);
  fs::resize_file(path, size / 2);
  EXPECT_THAT(ErrorOf([&] { ReadCheckpoint(path); }), HasSubstr("truncated"));
  fs::resize_file(path, 20);  // shorter than the header
  EXPECT_THAT(ErrorOf([&] { ReadCheckpoint(path); }), HasSubstr("truncated"));
  fs::resize_file(path, 0);
  EXPECT_THAT(ErrorOf([&] { ReadCheckpoint(path); }), HasSubstr("truncated"));
}

TEST_F(CheckpointTest, AnotherJobsCheckpointIsRefused) {
  const std::string path = SaveCheckpoint(dir_.path(), Make(10));
  CheckpointOwner owner = Owner();
  owner.fingerprint ^= 1;
  const std::string e = ErrorOf([&] { LoadNewestCheckpoint(dir_.path(), owner); });
  EXPECT_THAT(e, HasSubstr("different job configuration"));
  EXPECT_THAT(e, HasSubstr("workload=linreg seed=1 workers=2"));  // what wrote it
  EXPECT_THAT(e, HasSubstr("this job"));                          // what reads it
  EXPECT_THAT(ErrorOf([&] { LoadNewestCheckpoint(dir_.path(), Owner(999)); }),
              HasSubstr("another shard layout"));
}

TEST_F(CheckpointTest, CrashBetweenWriteAndRenameKeepsThePreviousCheckpoint) {
  SaveCheckpoint(dir_.path(), Make(10));
  // The next one is written and synced, but the process dies before the rename.
  const std::string tmp = StageCheckpoint(dir_.path(), Make(20));
  ASSERT_TRUE(fs::exists(tmp));
  const auto loaded = LoadNewestCheckpoint(dir_.path(), Owner());
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->checkpoint.iteration, 10u);
  EXPECT_EQ(loaded->checkpoint.params, Make(10).params);
  // The next checkpoint cleans the leftover up.
  SaveCheckpoint(dir_.path(), Make(30));
  EXPECT_FALSE(fs::exists(tmp));
  EXPECT_EQ(LoadNewestCheckpoint(dir_.path(), Owner())->checkpoint.iteration, 30u);
}

TEST_F(CheckpointTest, KeepsTheLastTwo) {
  for (uint64_t it : {10, 20, 30, 40}) SaveCheckpoint(dir_.path(), Make(it), 2);
  EXPECT_FALSE(fs::exists(CheckpointPath(dir_.path(), 0, 10)));
  EXPECT_FALSE(fs::exists(CheckpointPath(dir_.path(), 0, 20)));
  EXPECT_TRUE(fs::exists(CheckpointPath(dir_.path(), 0, 30)));
  EXPECT_TRUE(fs::exists(CheckpointPath(dir_.path(), 0, 40)));
}

TEST_F(CheckpointTest, UnreadableNewestFallsBackToTheOneBefore) {
  SaveCheckpoint(dir_.path(), Make(10));
  const std::string newest = SaveCheckpoint(dir_.path(), Make(20));
  fs::resize_file(newest, fs::file_size(newest) - 1);
  const auto loaded = LoadNewestCheckpoint(dir_.path(), Owner());
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->checkpoint.iteration, 10u);
  ASSERT_EQ(loaded->skipped.size(), 1u);
  EXPECT_THAT(loaded->skipped[0], HasSubstr("truncated"));
}

}  // namespace
}  // namespace gw
