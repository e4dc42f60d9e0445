// Checkpoint files (ps/checkpoint.h): a round trip, and every way a file can be unusable
// (a flipped byte, a short file, another job's, a forged one with a valid checksum, a FIFO or
// a link to a device, a stray name) refused with a message saying which; a crash between
// writing and renaming leaves the previous checkpoint the one that loads.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>

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

// A checkpoint is input: a forged file with a valid checksum is still refused when its model
// is not finite, its iteration lies beyond the job (resuming it would end the job at once as
// if done) or disagrees with its name; the one before it is resumed instead.
TEST_F(CheckpointTest, AForgedCheckpointWithAValidChecksumIsRefused) {
  SaveCheckpoint(dir_.path(), Make(10), 10);
  Checkpoint nan = Make(20);
  nan.params[3] = std::numeric_limits<float>::quiet_NaN();
  SaveCheckpoint(dir_.path(), nan, 10);
  Checkpoint inf = Make(30);
  inf.velocity[999] = -std::numeric_limits<float>::infinity();
  SaveCheckpoint(dir_.path(), inf, 10);
  SaveCheckpoint(dir_.path(), Make(1000000000000ull), 10);
  const std::string renamed = SaveCheckpoint(dir_.path(), Make(40), 10);
  fs::rename(renamed, CheckpointPath(dir_.path(), 0, 50));
  CheckpointOwner owner = Owner();
  owner.max_iteration = 100;
  const auto loaded = LoadNewestCheckpoint(dir_.path(), owner);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->checkpoint.iteration, 10u);
  ASSERT_EQ(loaded->skipped.size(), 4u);
  EXPECT_THAT(loaded->skipped[0], HasSubstr("iteration 1000000000000 (optimizer step "
                                            "1000000000000) is beyond this job's 100 iterations"));
  EXPECT_THAT(loaded->skipped[1], HasSubstr("its name says iteration 50, its header 40"));
  EXPECT_THAT(loaded->skipped[2], HasSubstr("velocity value 999 is -inf"));
  EXPECT_THAT(loaded->skipped[3], HasSubstr("parameter 3 is nan (a non-finite model)"));
  EXPECT_THAT(loaded->skipped[3], HasSubstr(CheckpointPath(dir_.path(), 0, 20)));
  // With nothing usable left, resuming fails naming every file.
  fs::remove(CheckpointPath(dir_.path(), 0, 10));
  EXPECT_THAT(ErrorOf([&] { LoadNewestCheckpoint(dir_.path(), owner); }),
              HasSubstr("no usable checkpoint of server 0"));
}

// Files that only look like checkpoints by name: a FIFO (which would hang the read), a link
// to /dev/zero (which would never end it) and a name whose iteration does not fit 64 bits
// (which threw out of the server) are refused by name, and the real one loads.
TEST_F(CheckpointTest, NamesThatAreNotCheckpointFilesAreSkippedNotWaitedOn) {
  SaveCheckpoint(dir_.path(), Make(10));
  const std::string fifo = CheckpointPath(dir_.path(), 0, 20);
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const std::string zero = CheckpointPath(dir_.path(), 0, 30);
  fs::create_symlink("/dev/zero", zero);
  const std::string stray = dir_ / "server-0-99999999999999999999999.ckpt";
  std::ofstream(stray) << "x";
  EXPECT_THAT(ErrorOf([&] { ReadCheckpoint(fifo); }), HasSubstr("not a regular file"));
  const auto loaded = LoadNewestCheckpoint(dir_.path(), Owner());
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->checkpoint.iteration, 10u);
  ASSERT_EQ(loaded->skipped.size(), 3u);
  EXPECT_THAT(loaded->skipped[0], HasSubstr(stray + " is unusable: its name's iteration is out"));
  EXPECT_THAT(loaded->skipped[1], HasSubstr(zero + " is unusable: not a regular file"));
  EXPECT_THAT(loaded->skipped[2], HasSubstr(fifo + " is unusable: not a regular file"));
  // Saving prunes old checkpoints, never the files it does not own.
  SaveCheckpoint(dir_.path(), Make(40), 1);
  EXPECT_TRUE(fs::exists(stray));
}

// The header is checked before the payload is read: a 1 GiB file is refused for what its
// first bytes say (not a checkpoint; a shard larger than this server's) without reading it.
TEST_F(CheckpointTest, AHugeFileIsRefusedFromItsHeaderWithoutBeingRead) {
  const auto peak_kib = [] {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
  };
  constexpr uint64_t kGiB = uint64_t{1} << 30;
  const long before = peak_kib();
  const std::string garbage = CheckpointPath(dir_.path(), 0, 5);
  std::ofstream(garbage) << "not a checkpoint";
  fs::resize_file(garbage, kGiB);  // sparse: no disk, but a whole read would allocate it
  EXPECT_THAT(ErrorOf([&] { ReadCheckpoint(garbage); }), HasSubstr("bad magic"));
  fs::remove(garbage);
  // A well-formed file of 2^27 parameters per section, checked against a 1000-float shard.
  const std::string big = SaveCheckpoint(dir_.path(), Make(5, 1000));
  {
    std::fstream f(big, std::ios::in | std::ios::out | std::ios::binary);
    // payload_bytes at 16 and the two section sizes at 64 and 72, as the header lays them out.
    const uint64_t floats = kGiB / 8, job = Make(5).job.size();
    const uint64_t payload = job + 2 * floats * sizeof(float);
    f.seekp(16);
    f.write(reinterpret_cast<const char*>(&payload), 8);
    f.seekp(64);
    f.write(reinterpret_cast<const char*>(&floats), 8);
    f.write(reinterpret_cast<const char*>(&floats), 8);
    f.close();
    fs::resize_file(big, 88 + payload);
  }
  EXPECT_THAT(ErrorOf([&] { ReadCheckpoint(big, 1000); }),
              HasSubstr("another shard layout (it holds 134217728 parameters"));
  EXPECT_LT(peak_kib() - before, 256 * 1024) << "the files were read, not just their headers";
}

}  // namespace
}  // namespace gw
