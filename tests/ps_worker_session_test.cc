// The worker's session (ps/worker/session.h) against a hand-driven server device on TCP
// loopback: the join and welcome, parameters handed to the loop, refusals, aborts, a lost
// server (an error, or ServerLost when the loop reconnects) and the wait's timeout.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "net_test_util.h"
#include "ps/imm.h"
#include "ps/job.h"
#include "ps/layout.h"
#include "ps/messages.h"
#include "ps/roles.h"
#include "ps/worker.h"
#include "ps/worker/session.h"

namespace gw {
namespace {

using std::chrono::milliseconds;

constexpr size_t kParams = 8;
constexpr PeerId kServer{Role::kServer, 0};
constexpr PeerId kWorker{Role::kWorker, 0};

// Records what the session handed to the loop.
struct RecordingEvents final : SessionEvents {
  void OnWelcome(uint32_t server, const std::shared_ptr<Connection>& conn,
                 const RemoteRegion& /*slot*/, uint64_t resume_iteration) override {
    welcomed_server = server;
    welcome_conn = conn;
    resume = resume_iteration;
  }
  bool OnParamsLanded(uint32_t /*server*/, const Imm& imm) override {
    if (!Imm::Matches(imm.iteration_tag, expected)) return false;
    ++landed;
    return true;
  }
  bool OnWriteDone(uint32_t /*server*/, uint64_t /*wr_id*/) override { return true; }
  void OnGrant(uint32_t /*server*/, const WindowGrantMsg& /*grant*/,
               TimePoint /*received*/) override {}

  std::optional<uint32_t> welcomed_server;
  std::shared_ptr<Connection> welcome_conn;
  uint64_t resume = 0;
  uint64_t expected = 0;  // the iteration whose parameters OnParamsLanded takes
  int landed = 0;
};

class WorkerSessionTest : public ::testing::Test {
 protected:
  WorkerSessionTest() : layout_(kParams, kParams, 1), params_(kParams), grad_(kParams) {
    server_ = CreateDevice(TransportKind::kTcp, testing::Options(kServer));
    server_->Listen(testing::Loopback(TransportKind::kTcp, 0));
    slot_ = &server_->RegisterRegion(kParams * sizeof(float), kWorker);
    model_ = &server_->RegisterRegion(kParams * sizeof(float), kServer);
    job_.timeout = milliseconds(1000);
    options_.servers = {testing::Loopback(TransportKind::kTcp, server_->bound_port())};
    options_.device = testing::Options(kWorker);
  }
  ~WorkerSessionTest() override {
    if (serve_.joinable()) serve_.join();
    if (session_) session_->Shutdown();
    server_->Shutdown();
  }

  void StartSession(bool recover_lost_servers) {
    session_ = std::make_unique<WorkerSession>(job_, options_, layout_, recover_lost_servers);
    session_->RegisterWriteSource(std::as_writable_bytes(std::span(grad_)));
    session_->RegisterServerRegion(0, std::as_writable_bytes(std::span(params_)));
    session_->SetEvents(&events_);
  }

  // On a thread of its own: waits for the worker's join, then answers with `answer`
  // (kWelcome: a welcome at `resume`, then the parameters of `resume` and of `resume` + 1;
  // kAbort: a refusal). Without `write_params`, the welcome only: the job never starts.
  void Serve(MsgType answer, uint64_t resume = 0, bool write_params = true) {
    serve_ = std::thread([this, answer, resume, write_params] {
      std::vector<Completion> seen;
      const bool joined = testing::WaitFor(
                              server_->cq(),
                              [](const Completion& c) {
                                return c.kind == CompletionKind::kControl &&
                                       c.control_type == static_cast<uint16_t>(MsgType::kJoin);
                              },
                              1, &seen) == 1;
      if (!joined) return;
      const auto join = Decode<JoinMsg>(seen.back().payload);
      const auto conn = server_->Find(kWorker);
      if (!join || !conn) return;
      if (answer == MsgType::kAbort) {
        conn->Send(static_cast<uint16_t>(MsgType::kAbort), EncodeText("the job is full"));
        return;
      }
      WelcomeMsg welcome;
      welcome.slot = slot_->Describe();
      welcome.shard_size = kParams;
      welcome.resume_iteration = resume;
      conn->Send(static_cast<uint16_t>(MsgType::kWelcome), Encode(welcome));
      if (!write_params) return;
      const auto bytes = model_->as<std::byte>();
      conn->Write(bytes, join->params, 0, Imm::Encode(resume, 0), 1);
      conn->Write(bytes, join->params, 0, Imm::Encode(resume + 1, 0), 2);
    });
  }

  ModelLayout layout_;
  std::vector<float> params_, grad_;
  std::unique_ptr<Device> server_;
  Region* slot_ = nullptr;
  Region* model_ = nullptr;
  JobConfig job_;
  WorkerOptions options_;
  RecordingEvents events_;
  std::unique_ptr<WorkerSession> session_;
  std::thread serve_;
};

TEST_F(WorkerSessionTest, JoinsAndHandsTheWelcomeAndTheExpectedParametersToTheLoop) {
  StartSession(/*recover_lost_servers=*/false);
  events_.expected = 7;
  Serve(MsgType::kWelcome, 7);
  session_->Join();
  EXPECT_EQ(events_.welcomed_server, std::optional<uint32_t>(0));
  EXPECT_NE(events_.welcome_conn, nullptr);
  EXPECT_EQ(events_.resume, 7u);
  EXPECT_EQ(session_->ResumeIteration(), 7u);
  // The parameters of 7 are taken; those of 8 are not expected, so dropped with a warning.
  session_->WaitUntil([&] { return events_.landed == 1; }, "parameters");
  session_->Poll(milliseconds(200));
  EXPECT_EQ(events_.landed, 1);
}

TEST_F(WorkerSessionTest, ARefusalBeforeTheWelcomeNamesTheServerAndTheReason) {
  StartSession(false);
  Serve(MsgType::kAbort);
  try {
    session_->Join();
    ADD_FAILURE() << "a refused join returned";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("server 0 refused this worker: the job is full"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(WorkerSessionTest, ALostServerEndsTheWorkerUnlessItReconnects) {
  for (const bool recover : {false, true}) {
    SCOPED_TRACE(recover ? "recovering" : "not recovering");
    StartSession(recover);
    Serve(MsgType::kWelcome);
    session_->Join();
    serve_.join();
    server_->Find(kWorker)->Abort("test: server gone");
    bool lost = false;
    try {
      session_->WaitUntil([] { return false; }, "anything");
    } catch (const ServerLost& e) {
      lost = true;
      EXPECT_TRUE(recover);
      EXPECT_EQ(e.server, 0u);
    } catch (const Error& e) {
      lost = true;
      EXPECT_FALSE(recover);
      EXPECT_NE(std::string(e.what()).find("lost server 0"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(lost);
    if (recover) {
      // Reconnecting waits for the closes, forgets the old connections and joins again.
      session_->AbortAll("test");
      EXPECT_TRUE(session_->AllClosed());
      session_->ForgetConnections();
    }
    session_->Shutdown();
    session_.reset();
  }
}

// Once parameters landed (Serve writes them after the welcome).
TEST_F(WorkerSessionTest, AWaitThatNeverEndsTimesOutAfterTwiceTheJobTimeout) {
  job_.timeout = milliseconds(100);
  StartSession(false);
  Serve(MsgType::kWelcome);
  session_->Join();
  try {
    session_->WaitUntil([] { return false; }, "miracle");
    ADD_FAILURE() << "the wait returned";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no miracle within 200 ms"), std::string::npos)
        << e.what();
  }
}

// Before the job starts the others may still be loading their data: the wait is bounded by
// the join timeout (was --timeout: a 1 s --timeout failed every slow start-up).
TEST_F(WorkerSessionTest, AWaitBeforeTheJobStartsTimesOutAfterTwiceTheJoinTimeout) {
  job_.timeout = milliseconds(100);
  job_.join_timeout = milliseconds(300);
  StartSession(false);
  Serve(MsgType::kWelcome, 0, /*write_params=*/false);
  session_->Join();
  const auto begin = std::chrono::steady_clock::now();
  try {
    session_->WaitUntil([] { return false; }, "first parameters");
    ADD_FAILURE() << "the wait returned";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no first parameters within 600 ms"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("--join-timeout"), std::string::npos) << e.what();
  }
  EXPECT_GE(std::chrono::steady_clock::now() - begin, milliseconds(600));
}

}  // namespace
}  // namespace gw
