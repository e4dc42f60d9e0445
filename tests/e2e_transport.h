// A fixture for end-to-end jobs over each transport: the same test body runs over TCP and
// RDMA. RDMA cases skip with the reason on a host without an RDMA device; `make test-rdma`
// runs them in a soft-RoCE VM, which sets GW_RDMA_TEST_ADDR to an address on the rxe netdev.
#pragma once

#include <cstdlib>
#include <string>
#include <vector>

#include "ps/roles.h"
#include "tests/e2e_util.h"
#include "tests/net_test_util.h"

namespace gw::e2e {

class TransportE2e : public ::testing::TestWithParam<TransportKind> {
 protected:
  void SetUp() override {
    if (GetParam() == TransportKind::kRdma) {
      std::string why;
      auto probe = testing::MakeDevice(GetParam(), testing::Options({Role::kTool, 0}), &why);
      if (!probe) GTEST_SKIP() << "RDMA unavailable here: " << why;
    }
  }
  void TearDown() override {
    procs_.KillAll();
    if (HasFailure()) std::cerr << procs_.DescribeAll();
  }
  bool rdma() const { return GetParam() == TransportKind::kRdma; }
  // In the soft-RoCE VM (make test-rdma): everything runs ~20-50x slower under emulation,
  // TCP jobs included, so jobs meant to be killed mid-run are sized by this.
  // Runs 5-20x slower than a native Release build: in the soft-RoCE VM (emulated CPU) or
  // under ThreadSanitizer. Long tests shrink their runs there, keeping what they assert.
  static bool slow() {
#if defined(__SANITIZE_THREAD__)
    return true;
#else
    return std::getenv("GW_RDMA_TEST_ADDR") != nullptr;
#endif
  }
  std::string Scheme() const { return rdma() ? "rdma" : "tcp"; }
  std::string Host() const { return testing::Loopback(GetParam(), 0).host; }
  std::string Addr(uint16_t port) const {
    return Scheme() + "://" + Host() + ":" + std::to_string(port);
  }
  // `run --transport --host` plus flags.
  std::vector<std::string> RunArgs(const std::string& out,
                                   const std::vector<std::string>& flags) const {
    std::vector<std::string> args = {"run",    "--out",  out,   "--transport",
                                     Scheme(), "--host", Host()};
    args.insert(args.end(), flags.begin(), flags.end());
    return args;
  }

  // Server rank 0 of one on an ephemeral port, results in out (default: the test's
  // directory); *port is 0 if it never listened.
  Proc& StartServer(const std::vector<std::string>& job, uint16_t* port, std::string out = "") {
    if (out.empty()) out = dir_.path();
    const std::string port_file = out + "/server.port";
    std::filesystem::create_directories(out);
    std::vector<std::string> args = {"server",      "--rank",  "0",     "--listen", Addr(0),
                                     "--port-file", port_file, "--out", out};
    args.insert(args.end(), job.begin(), job.end());
    Proc& server = procs_.Start("server " + out.substr(out.rfind('/') + 1), args);
    *port = WaitForPort(server, port_file, milliseconds(60000));
    return server;
  }

  Proc& StartWorker(uint32_t rank, uint16_t port, const std::vector<std::string>& job,
                    std::string out = "") {
    if (out.empty()) out = dir_.path();
    std::vector<std::string> args = {
        "worker", "--rank", std::to_string(rank), "--servers", Addr(port), "--out", out};
    args.insert(args.end(), job.begin(), job.end());
    return procs_.Start("worker " + std::to_string(rank) + " " + out.substr(out.rfind('/') + 1),
                        args);
  }

  // Server rank 0 and workers 0..n-1 of job, results in out ("" = the test's directory), all
  // joined. False (with the failure reported) if the server never listened or not all
  // joined in time.
  bool StartJob(const std::vector<std::string>& job, uint32_t n, Proc** server,
                std::vector<Proc*>* workers, const std::string& out = "") {
    uint16_t port = 0;
    *server = &StartServer(job, &port, out);
    EXPECT_NE(port, 0) << "the server never listened";
    if (port == 0) return false;
    for (uint32_t w = 0; w < n; ++w) workers->push_back(&StartWorker(w, port, job, out));
    const bool joined = WaitAllJoined(**server, static_cast<int>(n), milliseconds(120000));
    EXPECT_TRUE(joined) << "not all " << n << " workers joined";
    return joined;
  }

  // Waits until the server's log says all n workers joined.
  static bool WaitAllJoined(Proc& server, int n, milliseconds bound) {
    const std::string needle = "joined (" + std::to_string(n) + "/" + std::to_string(n) + ")";
    return WaitUntil([&] { return server.err().find(needle) != std::string::npos; }, bound);
  }

  TempDir dir_;
  Processes procs_{dir_.path()};
};

inline std::string TransportName(const ::testing::TestParamInfo<TransportKind>& info) {
  return info.param == TransportKind::kTcp ? "tcp" : "rdma";
}

}  // namespace gw::e2e
