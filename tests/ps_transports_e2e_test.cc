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
  // 3000 x 1 MiB takes seconds over loopback TCP, 100 x 1 MiB about ten over emulated rxe;
  // under TSan 300 take ~10 s (3000 took 106 s), still long after the kill at 0.3 s.
  const std::string iterations = rdma() ? "100" : slow() ? "300" : "3000";
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

// Role impersonation: a peer holding the job's token but claiming the server's own identity
// (whose parameters it registered for itself), another server or a rank the job lacks is
// refused in the handshake, before any region is reachable, and the job trains on.
TEST_P(PsOverTransport, ATokenHolderClaimingTheServerOrARankTheJobLacksIsRefused) {
  // Long enough for three refusals: over RDMA each takes the impostor's connect timeout (a
  // rejected connect request carries no reason, so it retries until then).
  const std::string iterations = GetParam() == TransportKind::kTcp ? "3000" : "1500";
  const std::vector<std::string> job = {"--num-workers", "2",   "--workload",   "synthetic",
                                        "--grad-bytes",  "64K", "--iterations", iterations,
                                        "--timeout",     "20"};
  Proc* server = nullptr;
  std::vector<Proc*> workers;
  ASSERT_TRUE(StartJob(job, 2, &server, &workers));
  const uint16_t port = static_cast<uint16_t>(std::stoi(ReadFile(dir_ / "server.port")));
  for (const PeerId claim :
       {PeerId{Role::kServer, 0}, PeerId{Role::kServer, 1}, PeerId{Role::kWorker, 2}}) {
    auto o = testing::Options(claim, kTestToken);
    o.job_id = "gradwire";
    o.connect_timeout = milliseconds(1000);
    std::string why;
    auto impostor = testing::MakeDevice(GetParam(), o, &why);
    ASSERT_TRUE(impostor) << why;
    EXPECT_THROW(impostor->Connect(testing::Loopback(GetParam(), port), {Role::kServer, 0}), Error)
        << PsRoles().Name(claim) << " was let in";
  }
  EXPECT_FALSE(server->Poll()) << "the job ended before the impostors were done";
  EXPECT_EQ(server->Wait(milliseconds(600000)), std::optional<int>(0)) << server->err();
  for (Proc* w : workers) EXPECT_EQ(w->Wait(milliseconds(60000)), std::optional<int>(0));
  const std::string err = server->err();
  EXPECT_EQ(CountLines(err, {"claims to be server 0, this process itself"}), 1) << err;
  EXPECT_EQ(CountLines(err, {"server 1 may not connect here (this process accepts worker 0..1)"}),
            1)
      << err;
  EXPECT_EQ(CountLines(err, {"worker 2 may not connect here"}), 1) << err;
  EXPECT_EQ(SummaryValue(dir_ / "server-0.csv", "workers_lost"), std::optional<double>(0));
}

INSTANTIATE_TEST_SUITE_P(Transports, PsOverTransport,
                         ::testing::Values(TransportKind::kTcp, TransportKind::kRdma),
                         TransportName);

}  // namespace
}  // namespace gw::e2e
