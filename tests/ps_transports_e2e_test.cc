// The parameter server end to end over each transport: the same jobs over TCP and RDMA.
// RDMA cases skip on a host without an RDMA device; `make test-rdma` runs them in a
// soft-RoCE VM, which sets GW_RDMA_TEST_ADDR to an address on the rxe netdev.
#include <signal.h>

#include "tests/e2e_transport.h"

namespace gw::e2e {
namespace {

using PsOverTransport = TransportE2e;

TEST_P(PsOverTransport, TrainsSoftmaxToAccuracy) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) {
    GTEST_SKIP() << "Fashion-MNIST missing (apt-get install dataset-fashion-mnist)";
  }
  const std::string out = dir_ / "run";
  Proc& run = procs_.Start("run", RunArgs(out, {"--num-workers", "2", "--iterations", "300"}));
  ASSERT_EQ(run.Wait(milliseconds(600000)), std::optional<int>(0));
  EXPECT_EQ(ReadCsv(out + "/iterations.csv").rows.size(), 2u * 300u);
  const auto acc = SummaryValue(out + "/summary.csv", "test_accuracy");
  ASSERT_TRUE(acc.has_value());
  EXPECT_GE(*acc, 0.78) << "same job, same seed: the transport must not change the result";
}

// A worker killed while its 1 MiB gradients are on the wire: the server keeps serving the
// others (--continue-without-lost-workers) and reports the loss; nothing hangs.
TEST_P(PsOverTransport, PeerVanishingMidTransferLeavesServerRunning) {
  // Long enough to be killed mid-run, short enough for soft-RoCE under emulation (~40 MB/s):
  // 3000 x 1 MiB takes seconds over loopback TCP, 100 x 1 MiB about ten over emulated rxe.
  const std::string iterations = GetParam() == TransportKind::kTcp ? "3000" : "100";
  const std::vector<std::string> job = {"--num-workers",
                                        "3",
                                        "--workload",
                                        "synthetic",
                                        "--grad-bytes",
                                        "1M",
                                        "--iterations",
                                        iterations,
                                        "--timeout",
                                        "20",
                                        "--continue-without-lost-workers"};
  Proc* started = nullptr;
  std::vector<Proc*> workers;
  ASSERT_TRUE(StartJob(job, 3, &started, &workers));
  Proc& server = *started;
  std::this_thread::sleep_for(milliseconds(300));
  kill(workers[1]->pid, SIGKILL);
  EXPECT_EQ(server.Wait(milliseconds(600000)), std::optional<int>(0)) << server.err();
  EXPECT_NE(server.err().find("worker 1 lost"), std::string::npos) << server.err();
  EXPECT_EQ(workers[0]->Wait(milliseconds(60000)), std::optional<int>(0));
  EXPECT_EQ(workers[2]->Wait(milliseconds(60000)), std::optional<int>(0));
  EXPECT_EQ(SummaryValue(dir_ / "server-0.csv", "workers_lost"), std::optional<double>(1));
}

INSTANTIATE_TEST_SUITE_P(Transports, PsOverTransport,
                         ::testing::Values(TransportKind::kTcp, TransportKind::kRdma),
                         TransportName);

}  // namespace
}  // namespace gw::e2e
