// Writes the seed corpora of the fuzz targets: valid inputs made by the project's own encoders
// (and parsers' canonical texts), plus a few edge cases next to what the parsers refuse.
//   make_seeds <corpus dir>   writes <dir>/<target>/<name> for every target
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "coding/scheme.h"
#include "coding/straggler.h"
#include "net/frame.h"
#include "net/handshake.h"
#include "net/rdma/wire.h"
#include "ps/checkpoint.h"
#include "ps/imm.h"
#include "ps/messages.h"
#include "ps/roles.h"
#include "sched/push_order_spec.h"
#include "sched/window_spec.h"

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

fs::path root;

void Write(const std::string& target, const std::string& name, const Bytes& bytes) {
  const fs::path dir = root / target;
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

Bytes Of(const std::string& s) { return {s.begin(), s.end()}; }

void FrameHeaders() {
  using gw::FrameHeader;
  using gw::FrameType;
  auto header = [](FrameType type, uint32_t imm, uint32_t region, uint64_t offset,
                   uint64_t length) {
    FrameHeader h;
    h.type = type;
    h.imm = imm;
    h.region = region;
    h.offset = offset;
    h.length = length;
    const auto b = gw::EncodeHeader(h);
    return Bytes(b.begin(), b.end());
  };
  Write("frame_header", "hello", header(FrameType::kHello, 0, 0, 0, 30));
  Write("frame_header", "hello-accept", header(FrameType::kHelloAccept, 0, 0, 0, 30));
  Write("frame_header", "hello-reject", header(FrameType::kHelloReject, 0, 0, 0, 11));
  Write("frame_header", "write", header(FrameType::kWrite, gw::Imm::Encode(5, 3), 2, 4096, 65536));
  Write("frame_header", "control", header(FrameType::kControl, 9, 0, 0, 24));
  Write("frame_header", "bye", header(FrameType::kBye, 0, 0, 0, 0));
  // Edge cases: one past the hello bound, an unknown type, a control type beyond 16 bits, a
  // truncated header.
  Write("frame_header", "edge-hello-too-long",
        header(FrameType::kHello, 0, 0, 0, gw::Hello::kMaxBytes + 1));
  Write("frame_header", "edge-type-7", header(static_cast<FrameType>(7), 0, 0, 0, 0));
  Write("frame_header", "edge-control-type-17-bits", header(FrameType::kControl, 0x10001, 0, 0, 8));
  Bytes short_header = header(FrameType::kBye, 0, 0, 0, 0);
  short_header.pop_back();
  Write("frame_header", "edge-31-bytes", short_header);
}

void WriteNotices() {
  using gw::FrameType;
  auto notice = [](size_t count) {
    gw::rdma::WriteNotice n;
    for (size_t i = 0; i < count; ++i) {
      auto& h = n.writes[n.count++];
      h.type = FrameType::kWrite;
      h.imm = gw::Imm::Encode(9, static_cast<uint32_t>(i));
      h.region = 1;
      h.offset = i * 65536;
      h.length = 65536;
    }
    Bytes b(count * gw::FrameHeader::kSize);
    gw::rdma::EncodeNotice(n, b);
    return b;
  };
  Write("write_notice", "one", notice(1));
  Write("write_notice", "eight", notice(8));
  Write("write_notice", "full", notice(gw::rdma::WriteNotice::kMaxWrites));
  // Edge cases: one header more than a notice holds, a torn second header.
  Bytes over = notice(gw::rdma::WriteNotice::kMaxWrites);
  const Bytes one = notice(1);
  over.insert(over.end(), one.begin(), one.end());
  Write("write_notice", "edge-17-headers", over);
  Bytes torn = notice(2);
  torn.resize(torn.size() - 1);
  Write("write_notice", "edge-torn", torn);
  // A connect reject's reason, and one padded as an InfiniBand CM reject arrives.
  Bytes reason = gw::rdma::EncodeRejectReason("worker 9 may not connect here");
  Write("write_notice", "reject-reason", reason);
  reason.resize(148, 0);
  Write("write_notice", "reject-reason-padded", reason);
}

void Hellos() {
  using gw::Hello;
  auto hello = [](uint8_t role, uint32_t rank, const std::string& job, const std::string& token) {
    Hello h;
    h.peer = {role, rank};
    h.job_id = job;
    h.token = token;
    return gw::EncodeHello(h);
  };
  Write("hello", "worker", hello(gw::Role::kWorker, 3, "gradwire", "s3cret"));
  Write("hello", "server", hello(gw::Role::kServer, 0, "gradwire", ""));
  Write("hello", "tool", hello(gw::Role::kTool, 0xffffffff, "", ""));
  Write("hello", "longest",
        hello(gw::Role::kWorker, 1, std::string(Hello::kMaxString, 'j'),
              std::string(Hello::kMaxString, 't')));
  // Edge cases: a string one byte too long, a trailing byte, a truncated token.
  Bytes too_long = hello(gw::Role::kWorker, 1, std::string(Hello::kMaxString, 'j'), "");
  too_long[8] = Hello::kMaxString + 1;
  too_long.push_back('j');
  Write("hello", "edge-string-too-long", too_long);
  Bytes trailing = hello(gw::Role::kWorker, 1, "job", "t");
  trailing.push_back(0);
  Write("hello", "edge-trailing-byte", trailing);
  Bytes truncated = hello(gw::Role::kWorker, 1, "job", "token");
  truncated.pop_back();
  Write("hello", "edge-truncated", truncated);
}

template <typename T>
void Control(const std::string& name, gw::MsgType type, const T& msg) {
  Bytes b(2);
  const auto t = static_cast<uint16_t>(type);
  b[0] = static_cast<uint8_t>(t & 0xff);
  b[1] = static_cast<uint8_t>(t >> 8);
  const Bytes payload = gw::Encode(msg);
  b.insert(b.end(), payload.begin(), payload.end());
  Write("control_message", name, b);
}

void ControlMessages() {
  using gw::MsgType;
  Control("join", MsgType::kJoin, gw::JoinMsg{0x1234abcd, {.id = 1, .length = 4096}});
  gw::WelcomeMsg welcome{{.id = 2, .length = 8192}, 0, 2048};
  welcome.slot.SetHandle(gw::rdma::EncodeRegionHandle({.addr = 0x7f0000001000, .rkey = 77}));
  Control("welcome", MsgType::kWelcome, welcome);
  // Edge cases: a descriptor's handle one past its bound, a stray byte after the handle.
  gw::JoinMsg join_too_long{0x1234abcd, {.id = 1, .length = 4096}};
  join_too_long.params.handle_size = gw::RemoteRegion::kMaxHandleBytes + 1;
  Control("edge-join-handle-too-long", MsgType::kJoin, join_too_long);
  gw::WelcomeMsg welcome_tail = welcome;
  welcome_tail.slot.handle[gw::rdma::RegionHandle::kBytes] = 1;
  Control("edge-welcome-handle-tail", MsgType::kWelcome, welcome_tail);
  Control("closed", MsgType::kClosed, gw::RoundMsg{12});
  Control("skipped", MsgType::kSkipped, gw::RoundMsg{12});
  Control("window-request", MsgType::kWindowRequest, gw::WindowRequestMsg{7, 2000000, 50000});
  // --batch-tuning: the pushed gradient's rows, the previous iteration's rows and compute time.
  Control("window-request-tuned", MsgType::kWindowRequest,
          gw::WindowRequestMsg{7, 2000000, 50000, 1500000, 79, 64});
  // Layered workloads: the forward index of the push's most urgent tensor.
  Control("window-request-layered", MsgType::kWindowRequest,
          gw::WindowRequestMsg{7, 2000000, 50000, 0, 0, 0, 42});
  // Per-partition windows: the partition asked for.
  Control("window-request-part", MsgType::kWindowRequest,
          gw::WindowRequestMsg{7, 2000000, 50000, 0, 0, 0, 42, 3});
  // Asked ahead (ask=ahead): the push is ready in 30 ms.
  Control("window-request-ahead", MsgType::kWindowRequest,
          gw::WindowRequestMsg{7, 2000000, 50000, 0, 0, 0, 0, 0, 30000000});
  Control("edge-window-request-ahead-negative", MsgType::kWindowRequest,
          gw::WindowRequestMsg{7, 0, 0, 0, 0, 0, 0, 0, INT64_MIN});
  Control("edge-window-request-last-part", MsgType::kWindowRequest,
          gw::WindowRequestMsg{7, 0, 0, 0, 0, 0, 0, UINT32_MAX});
  Control("window-grant", MsgType::kWindowGrant, gw::WindowGrantMsg{7, 4000000});
  Control("window-posted", MsgType::kWindowPosted, gw::WindowPostedMsg{7, 3});
  Control("window-posted-held", MsgType::kWindowPosted, gw::WindowPostedMsg{7, 0, 1500});
  Control("edge-window-posted-held-longest", MsgType::kWindowPosted,
          gw::WindowPostedMsg{7, 0, UINT32_MAX});
  Control("window-grant-batch", MsgType::kWindowGrant, gw::WindowGrantMsg{7, 4000000, 20});
  Control("window-grant-open", MsgType::kWindowGrant,
          gw::WindowGrantMsg{7, gw::WindowGrantMsg::kOpenEnded});
  Control("edge-window-grant-longest", MsgType::kWindowGrant, gw::WindowGrantMsg{7, INT64_MAX});
  Control("window-grant-part", MsgType::kWindowGrant, gw::WindowGrantMsg{7, 4000000, 0, 3});
  Bytes abort = {static_cast<uint8_t>(MsgType::kAbort), 0};
  const Bytes why = gw::EncodeText("flags differ");
  abort.insert(abort.end(), why.begin(), why.end());
  Write("control_message", "abort", abort);
  Write("control_message", "done", {static_cast<uint8_t>(MsgType::kDone), 0});
}

Bytes Idx(uint32_t magic, const std::vector<uint32_t>& dims, size_t data_bytes) {
  Bytes b;
  auto put32 = [&](uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<uint8_t>(v >> shift));
  };
  put32(magic);
  for (const uint32_t d : dims) put32(d);
  for (size_t i = 0; i < data_bytes; ++i) b.push_back(static_cast<uint8_t>(i * 37));
  return b;
}

void IdxFiles() {
  Write("idx", "images", Idx(0x803, {2, 4, 3}, 24));
  Write("idx", "labels", Idx(0x801, {5}, 5));
  Write("idx", "matrix", Idx(0x802, {3, 2}, 6));
  Write("idx", "edge-zero-dim", Idx(0x803, {2, 0, 3}, 0));
  Write("idx", "edge-overflowing-dims", Idx(0x803, {1u << 31, 1u << 31, 4}, 0));
  Write("idx", "edge-one-byte-short", Idx(0x801, {5}, 4));
  Write("idx", "edge-four-dims", Idx(0x804, {1, 1, 1, 1}, 1));
}

// trace_fuzz: trace files as PyTorch's csv module writes them, and next to what is refused.
void TraceFiles() {
  const std::string header = "layer,params,forward_ms,backward_ms\n";
  Write("trace", "resnet-head",
        Of("# resnet50, batch 32\n" + header +
           "conv1,9408,1.92,3.71\nbn1,128,0.41,0.88\nlayer1.0.conv1,4096,0.5,1.1\n"));
  Write("trace", "extra-columns-crlf",
        Of("gpu,backward_ms,layer,forward_ms,params\r\n0,2.5,\"a,b\",1.25,590592\r\n"
           "0,1e-3,\"say \"\"x\"\"\",0,1\r\n"));
  Write("trace", "edge-params-2-40", Of(header + "fc,1099511627776,3600000,0\n"));
  Write("trace", "edge-nan", Of(header + "fc,10,nan,1\n"));
  Write("trace", "edge-second-header", Of(header + "fc,10,1,1\n" + header));
}

// config_fuzz: the first byte picks the parser (low 3 bits) and the worker count (high 5).
void Config(const std::string& name, int parser, int workers, const std::string& text) {
  Bytes b = {static_cast<uint8_t>(((workers - 1) << 3) | parser)};
  const Bytes t = Of(text);
  b.insert(b.end(), t.begin(), t.end());
  Write("config", name, b);
}

void ConfigTexts() {
  using gw::sched::WindowSpec;
  Config("window-burst", 0, 4, WindowSpec::Parse("burst").ToString());
  Config("window-round-robin", 0, 4, WindowSpec::Parse("round-robin").ToString());
  Config("window-slots", 0, 4, WindowSpec::Parse("slots:period=20,slot=5").ToString());
  Config("window-racks", 0, 5, WindowSpec::Parse("topology:racks=2").ToString());
  Config("window-rack-of", 0, 4, "topology:rack-of=0+0+1+1,min-window=2.5");
  Config("window-global-priority", 0, 4, WindowSpec::Parse("global-priority").ToString());
  Config("window-global-priority-racks", 0, 4, "global-priority:rack-of=0+1+0+1,window=2");
  using gw::coding::CodingSpec;
  for (const char* s :
       {"uncoded", "replication:r=2", "gc-fr:s=1", "gc-cr:s=2", "mm:r=3", "mds:k=3"}) {
    const std::string text = CodingSpec::Parse(s).ToString();
    Config("coding-" + text.substr(0, text.find(':')), 1, 6, text);
  }
  using gw::coding::StragglerModel;
  for (const char* s : {"none", "shifted-exp:mu=1,base=0.01", "non-persistent:mu=1,alpha=0.5",
                        "persistent:workers=0+2,factor=3", "fail-stop:worker=1,at=5,seed=9"}) {
    const std::string text = StragglerModel::Parse(s).ToString();
    Config("straggler-" + text.substr(0, text.find(':')), 2, 4, text);
  }
  Config("sync-bsp", 3, 4, "bsp");
  Config("sync-ssp", 3, 4, "ssp:3");
  Config("lr-step", 4, 4, "step:every=100,gamma=0.5");
  Config("lr-warmup-cosine", 4, 4, "warmup:steps=50+cosine:total=1000");
  Config("address-tcp", 5, 4, "tcp://127.0.0.1:9000");
  Config("address-rdma-v6", 5, 4, "rdma://[fe80::1]:7000");
  Config("address-bare", 5, 4, "node-3:65535");
  Config("spec-text", 6, 4, "name:a=1,b=x=y,c=");
  Config("bytes-100M", 7, 4, "100M");
  Config("bytes-plain", 7, 4, "4096");
  Config("edge-bytes-huge", 7, 4, "18446744073709551615G");
}

void PushOrderTexts() {
  const std::pair<const char*, const char*> orders[] = {
      {"fifo", "fifo"},
      {"priority", "priority"},
      {"priority-inflight", "priority:inflight=3"},
      {"credit", "credit:credit=65536"}};
  for (const auto& [name, text] : orders) {
    Write("push_order", name, Of(gw::sched::ParsePushOrder(text).spec->ToString()));
  }
  // Edge cases: one past the in-flight bound, a credit one byte under a page.
  Write("push_order", "edge-inflight-4097", Of("priority:inflight=4097"));
  Write("push_order", "edge-credit-4095", Of("credit:credit=4095"));
}

void TopologyTexts() {
  const std::pair<const char*, const char*> texts[] = {
      {"star", "star"},
      {"star-shaped", "star:rate=100Mbps,latency=5ms"},
      {"tree", "tree:racks=4,oversub=4,rate=10Gbps,latency=2us"},
      {"star-slow", "star:rate=1Gbps,slow=1+2,slow_rate=100Mbps"},
      {"fat-tree", "fat-tree:k=16,rate=10Gbps,latency=1us"},
      {"leaf-spine", "leaf-spine:leaves=32,spines=8,oversub=4,rate=25Gbps"},
      // Edge cases: a rate at its floor, latency at its ceiling, a rack count past the bound,
      // an odd radix, the largest radix, a spine past the bound.
      {"edge-min-rate", "star:rate=1kbps,latency=60s"},
      {"edge-racks-65537", "tree:racks=65537"},
      {"edge-fat-tree-k-7", "fat-tree:k=7"},
      {"edge-fat-tree-k-128", "fat-tree:k=128"},
      {"edge-spines-129", "leaf-spine:leaves=2,spines=129"}};
  for (const auto& [name, text] : texts) Write("topology", name, Of(text));
}

void Flags(const std::string& name, const std::vector<std::string>& args) {
  Bytes b;
  for (size_t i = 0; i < args.size(); ++i) {
    if (i > 0) b.push_back(0);
    b.insert(b.end(), args[i].begin(), args[i].end());
  }
  Write("flags", name, b);
}

void FlagLists() {
  Flags("minimal", {"--num-workers=4"});
  Flags("synthetic", {"--num-workers", "8", "--num-servers=2", "--workload=synthetic",
                      "--grad-bytes=100M", "--part-bytes=1M", "--sync=ssp:2"});
  Flags("r2sp", {"--num-workers=4", "--sync=r2sp", "--windows=round-robin:warmup=6",
                 "--lr-schedule=warmup:steps=5+cosine:total=100", "--timeout=2.5"});
  Flags("coded", {"--num-workers=6", "--workload=linreg", "--coding=mds:k=4",
                  "--straggler=shifted-exp:mu=2,seed=3", "--job-id=j1", "--log-level=warn"});
  Flags("slots", {"--num-workers=3", "--windows=slots:period=30,slot=10", "--momentum=0",
                  "--congestion=system", "--continue-without-lost-workers"});
  Flags("edge-no-workers", {"--workload=softmax"});
  Flags("model", {"--num-workers=8", "--num-servers=2", "--workload=model:resnet50",
                  "--device-tflops=14", "--push-order=priority:inflight=2", "--part-bytes=64K"});
  Flags("edge-model-unknown", {"--num-workers=2", "--workload=model:resnet"});
  Flags("edge-trace-missing", {"--num-workers=2", "--workload=trace:missing.csv"});
  Flags("edge-order-flat", {"--num-workers=2", "--push-order=credit:credit=8192"});
}

}  // namespace

Bytes ReadBytes(const fs::path& file) {
  std::ifstream f(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void CheckpointFiles() {
  const fs::path dir = fs::temp_directory_path() / "gradwire-make-seeds-checkpoints";
  fs::create_directories(dir);
  gw::Checkpoint c;
  c.fingerprint = 0x1234abcd5678ef01ull;
  c.job = "workload=linreg seed=1 workers=2";
  c.iteration = c.optimizer_steps = 7;
  for (int i = 0; i < 16; ++i) {
    c.params.push_back(static_cast<float>(i) * 0.25f);
    c.velocity.push_back(-static_cast<float>(i));
  }
  const Bytes good = ReadBytes(gw::SaveCheckpoint(dir.string(), c, 10));
  Write("checkpoint", "small", good);
  // Edge cases: a valid checksum over a NaN parameter, one byte short, no payload.
  c.iteration = 8;
  c.params[5] = std::nanf("");
  Write("checkpoint", "edge-nan-valid-crc", ReadBytes(gw::SaveCheckpoint(dir.string(), c, 10)));
  Write("checkpoint", "edge-one-byte-short", Bytes(good.begin(), good.end() - 1));
  Write("checkpoint", "edge-header-only", Bytes(good.begin(), good.begin() + 88));
  fs::remove_all(dir);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds <corpus dir>\n");
    return 2;
  }
  root = argv[1];
  FrameHeaders();
  WriteNotices();
  Hellos();
  ControlMessages();
  IdxFiles();
  CheckpointFiles();
  TraceFiles();
  ConfigTexts();
  PushOrderTexts();
  TopologyTexts();
  FlagLists();
  return 0;
}
