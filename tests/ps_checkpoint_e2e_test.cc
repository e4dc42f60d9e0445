// Checkpoint and restart end to end over each transport: a BSP job whose server is SIGKILLed
// right after a checkpoint, restarted with --resume on the same address while its workers
// (never restarted) reconnect, finishes with the same per-iteration losses as the same job
// run uninterrupted, redoing at most --checkpoint-every iterations. A corrupt or foreign
// checkpoint is refused with a clear message.
#include <signal.h>

#include <cmath>
#include <map>
#include <regex>

#include "ps/checkpoint.h"
#include "tests/e2e_transport.h"

namespace gw::e2e {
namespace {

using CheckpointOverTransport = TransportE2e;

constexpr int kWorkers = 2;
constexpr uint64_t kIterations = 200;
constexpr uint64_t kEvery = 20;

// Linear regression (no data files), slowed to ~5 ms an iteration by a nearly constant
// injected delay so the test can kill the server between two checkpoints.
std::vector<std::string> Job(uint64_t iterations = kIterations,
                             const std::string& straggler = "shifted-exp:mu=1000,base=0.005") {
  return {"--num-workers", std::to_string(kWorkers),
          "--workload",    "linreg",
          "--linreg-rows", "2048",
          "--linreg-dims", "64",
          "--batch",       "32",
          "--iterations",  std::to_string(iterations),
          "--straggler",   straggler,
          "--timeout",     "30"};
}

std::vector<std::string> Concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Per worker, per iteration: the losses of every row for it, in file order (a redone
// iteration has two: before the restart and after).
using Losses = std::map<uint32_t, std::map<uint64_t, std::vector<double>>>;

Losses ReadLosses(const std::string& out) {
  Losses losses;
  for (uint32_t w = 0; w < kWorkers; ++w) {
    const Csv csv = ReadCsv(out + "/worker-" + std::to_string(w) + ".csv");
    const int it = csv.Column("iteration"), loss = csv.Column("loss");
    EXPECT_GE(it, 0);
    EXPECT_GE(loss, 0);
    if (it < 0 || loss < 0) continue;
    for (const auto& r : csv.rows) {
      losses[w][std::stoull(r.at(static_cast<size_t>(it)))].push_back(
          std::stod(r.at(static_cast<size_t>(loss))));
    }
  }
  return losses;
}

// The number in `text` after the first match of `prefix` (a regex), or nullopt.
std::optional<uint64_t> NumberAfter(const std::string& text, const std::string& prefix) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(prefix + "([0-9]+)"))) return std::nullopt;
  return std::stoull(m[1].str());
}

class CheckpointE2e : public CheckpointOverTransport {
 protected:
  // A server of job on `port` (0: any), with extra server flags; does not wait for it.
  Proc& Server(const std::string& name, uint16_t port, const std::string& out,
               const std::vector<std::string>& job, const std::vector<std::string>& flags) {
    std::filesystem::create_directories(out);
    std::vector<std::string> args = {
        "server", "--rank", "0", "--listen", Addr(port), "--port-file", out + "/server.port",
        "--out",  out};
    return procs_.Start(name, Concat(Concat(args, job), flags));
  }

  // Runs Job() uninterrupted as the reference, then again with the server SIGKILLed
  // `after` the checkpoint of iteration 60 appeared and restarted with --resume; checks the
  // second run against the first.
  void KillAndResume(milliseconds after);
};

// Right after a checkpoint (the kill lands before the release that follows it: nothing is
// redone), and some way between two (about half an interval's iterations are redone).
TEST_P(CheckpointE2e, ServerKilledRightAfterACheckpointResumesWithTheSameLosses) {
  KillAndResume(milliseconds(0));
}

TEST_P(CheckpointE2e, ServerKilledBetweenCheckpointsResumesWithTheSameLosses) {
  // Not a synchronisation: any moment is a valid kill point and the checks hold for each;
  // ~10 of the ~5 ms iterations just make the typical case redo some.
  KillAndResume(milliseconds(slow() ? 500 : 50));
}

void CheckpointE2e::KillAndResume(milliseconds after) {
  // Reference: the same job, uninterrupted, checkpointing as the resumed one does.
  const std::string ref = dir_ / "ref";
  const std::vector<std::string> ckpt_ref = {"--checkpoint-dir", ref + "/ckpt",
                                             "--checkpoint-every", std::to_string(kEvery)};
  uint16_t port = 0;
  Proc& ref_server = StartServer(Concat(Job(), ckpt_ref), &port, ref);
  ASSERT_NE(port, 0) << "the reference server never listened";
  std::vector<Proc*> ref_workers;
  for (uint32_t w = 0; w < kWorkers; ++w) ref_workers.push_back(&StartWorker(w, port, Job(), ref));
  ASSERT_EQ(ref_server.Wait(milliseconds(600000)), std::optional<int>(0));
  for (Proc* w : ref_workers) ASSERT_EQ(w->Wait(milliseconds(60000)), std::optional<int>(0));
  const Losses expected = ReadLosses(ref);
  ASSERT_EQ(expected.size(), static_cast<size_t>(kWorkers));

  // The run to kill: the first start has --resume too (one command line for start and
  // restart): with no checkpoint yet it starts from scratch, saying so.
  const std::string out = dir_ / "resumed";
  const std::string ckpt = out + "/ckpt";
  const std::vector<std::string> server_flags = {"--checkpoint-dir", ckpt, "--checkpoint-every",
                                                 std::to_string(kEvery), "--resume"};
  Proc& first = Server("server first", 0, out, Job(), server_flags);
  port = WaitForPort(first, out + "/server.port", milliseconds(60000));
  ASSERT_NE(port, 0) << "the server never listened";
  EXPECT_NE(first.err().find("starting from scratch"), std::string::npos) << first.err();
  std::vector<Proc*> workers;
  for (uint32_t w = 0; w < kWorkers; ++w) {
    workers.push_back(&StartWorker(w, port, Concat(Job(), {"--reconnect-timeout", "120"}), out));
  }
  // Killed as soon as the checkpoint of iteration 60 is in place (the rename makes it
  // appear whole), so the restart lands between two checkpoints.
  const std::string mark = CheckpointPath(ckpt, 0, 3 * kEvery);
  ASSERT_TRUE(WaitUntil([&] { return std::filesystem::exists(mark) || first.Poll(); },
                        milliseconds(300000), milliseconds(1)))
      << first.err();
  if (after.count() > 0) std::this_thread::sleep_for(after);
  ASSERT_FALSE(first.Poll()) << "the server ended before it could be killed:\n" << first.err();
  kill(first.pid, SIGKILL);
  ASSERT_EQ(first.Wait(milliseconds(10000)), std::optional<int>(128 + SIGKILL));
  std::filesystem::remove(out + "/server.port");

  Proc& second = Server("server second", port, out, Job(), server_flags);
  ASSERT_EQ(second.Wait(milliseconds(600000)), std::optional<int>(0)) << second.err();
  for (Proc* w : workers) {
    EXPECT_EQ(w->Wait(milliseconds(60000)), std::optional<int>(0)) << w->err();
  }
  const auto resumed_at = NumberAfter(second.err(), "resuming from checkpoint [^\n]*: iteration ");
  ASSERT_TRUE(resumed_at.has_value()) << second.err();
  EXPECT_GE(*resumed_at, 3 * kEvery);
  EXPECT_LT(*resumed_at, kIterations);
  EXPECT_EQ(*resumed_at % kEvery, 0u);
  EXPECT_EQ(SummaryValue(out + "/server-0.csv", "resumed_from"),
            std::optional<double>(static_cast<double>(*resumed_at)));

  const Losses got = ReadLosses(out);
  for (uint32_t w = 0; w < kWorkers; ++w) {
    const std::string err = workers[w]->err();
    // Its own account: where it resumed and how much it redid (the iteration it was in
    // included), at most the checkpoint interval.
    EXPECT_EQ(NumberAfter(err, "resuming at iteration "), resumed_at) << err;
    const auto redone = NumberAfter(err, "redoing ");
    ASSERT_TRUE(redone.has_value()) << err;
    EXPECT_LE(*redone, kEvery) << err;
    // Every iteration trained; the ones finished before the kill and redone after it are
    // the only ones with two rows.
    ASSERT_EQ(got.count(w), 1u);
    const auto& mine = got.at(w);
    ASSERT_EQ(mine.size(), kIterations) << "worker " << w;
    uint64_t twice = 0;
    for (const auto& [it, losses] : mine) {
      ASSERT_LE(losses.size(), 2u) << "worker " << w << " iteration " << it;
      if (losses.size() == 2) {
        ++twice;
        EXPECT_GE(it, *resumed_at) << "only iterations after the checkpoint are redone";
      }
      // BSP with minibatches drawn from (seed, rank, iteration) and the checkpoint holding
      // the parameters and momentum bit for bit: the resumed run does the reference's float
      // operations in the reference's order, so the losses agree to the CSV's 9 significant
      // digits; 1e-6 relative leaves room for that rounding only. Restoring anything wrong
      // (momentum, step count, batches) moves them by far more.
      const double want = expected.at(w).at(it).front();
      for (double loss : losses) {
        EXPECT_NEAR(loss, want, 1e-6 * std::max(1.0, std::abs(want)))
            << "worker " << w << " iteration " << it << " (resumed at " << *resumed_at << ")";
      }
    }
    EXPECT_LE(twice, kEvery) << "worker " << w;
    EXPECT_EQ(twice, *redone) << "worker " << w << ": its rows and its log disagree";
  }
}

TEST_P(CheckpointE2e, ResumeRefusesACorruptOrForeignCheckpoint) {
  // A short run leaves checkpoints of iterations 20 and 40.
  const std::string out = dir_ / "short";
  const std::string ckpt = out + "/ckpt";
  const std::vector<std::string> short_job = Job(40, "none");
  const std::vector<std::string> flags = {"--checkpoint-dir", ckpt, "--checkpoint-every", "20"};
  Proc& server = Server("server short", 0, out, short_job, flags);
  const uint16_t port = WaitForPort(server, out + "/server.port", milliseconds(60000));
  ASSERT_NE(port, 0);
  std::vector<Proc*> workers;
  for (uint32_t w = 0; w < kWorkers; ++w) {
    workers.push_back(&StartWorker(w, port, short_job, out));
  }
  ASSERT_EQ(server.Wait(milliseconds(600000)), std::optional<int>(0)) << server.err();
  for (Proc* w : workers) ASSERT_EQ(w->Wait(milliseconds(60000)), std::optional<int>(0));
  ASSERT_TRUE(std::filesystem::exists(CheckpointPath(ckpt, 0, 40)));

  // Another job (a different learning rate) must not resume them.
  Proc& foreign = Server("server foreign", 0, dir_ / "foreign", short_job,
                         Concat(flags, {"--resume", "--lr", "0.05"}));
  EXPECT_EQ(foreign.Wait(milliseconds(60000)), std::optional<int>(1));
  EXPECT_NE(foreign.err().find("belongs to a different job configuration"), std::string::npos)
      << foreign.err();
  EXPECT_NE(foreign.err().find("lr=0.05"), std::string::npos) << foreign.err();

  // Both checkpoints corrupt: nothing to resume, and the message says why for each.
  for (uint64_t it : {20, 40}) {
    const std::string path = CheckpointPath(ckpt, 0, it);
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(-3, std::ios::end);
    const char b = static_cast<char>(f.get() ^ 0x01);
    f.seekp(-3, std::ios::end);
    f.put(b);
  }
  Proc& corrupt =
      Server("server corrupt", 0, dir_ / "corrupt", short_job, Concat(flags, {"--resume"}));
  EXPECT_EQ(corrupt.Wait(milliseconds(60000)), std::optional<int>(1));
  const std::string err = corrupt.err();
  EXPECT_NE(err.find("no usable checkpoint of server 0"), std::string::npos) << err;
  EXPECT_EQ(CountLines(err, {"checksum mismatch"}), 1) << err;  // one line, both files
  EXPECT_NE(err.find("server-0-000000000040.ckpt is unusable: checksum mismatch"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("server-0-000000000020.ckpt is unusable: checksum mismatch"),
            std::string::npos)
      << err;
}

INSTANTIATE_TEST_SUITE_P(Transports, CheckpointE2e,
                         ::testing::Values(TransportKind::kTcp, TransportKind::kRdma),
                         TransportName);

}  // namespace
}  // namespace gw::e2e
