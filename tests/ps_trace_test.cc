// Trace files (ps/workload/zoo/trace.h): a good file reads into layers in file order, with
// comments, blank lines, CRLF, quotes, a byte order mark and extra columns in any order; every
// kind of bad content is refused with the file, the line and the column, never an exception.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "ps/workload/zoo/compute_profile.h"
#include "ps/workload/zoo/trace.h"

namespace gw::zoo {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TraceResult Parse(const std::string& text) {
  std::istringstream in(text);
  return ParseTrace(in, "t.csv");
}

// The error a text is refused with ("" if it is accepted, which fails the caller's match).
std::string Error(const std::string& text) {
  const TraceResult r = Parse(text);
  EXPECT_FALSE(r.trace.has_value()) << text;
  EXPECT_EQ(r.error.find('\n'), std::string::npos) << r.error;
  return r.error;
}

constexpr const char* kHeader = "layer,params,forward_ms,backward_ms\n";

TEST(TraceTest, GoodFile) {
  const TraceResult r = Parse(
      "# resnet-ish, batch 32\n"
      "layer,params,forward_ms,backward_ms\n"
      "conv1,9408,1.92,3.71\n"
      "\n"
      "  # a comment between rows\n"
      "bn1,128,0.41,0.875\n"
      "fc,513000,0,1e-3\n");
  ASSERT_TRUE(r.trace.has_value()) << r.error;
  EXPECT_TRUE(r.error.empty());
  const Trace& t = *r.trace;
  EXPECT_EQ(t.source, "t.csv");
  ASSERT_EQ(t.layers.size(), 3u);
  EXPECT_EQ(t.layers[0].name, "conv1");
  EXPECT_EQ(t.layers[0].params, 9408u);
  EXPECT_DOUBLE_EQ(t.layers[0].forward_ms, 1.92);
  EXPECT_DOUBLE_EQ(t.layers[0].backward_ms, 3.71);
  EXPECT_EQ(t.layers[1].name, "bn1");
  EXPECT_DOUBLE_EQ(t.layers[1].backward_ms, 0.875);
  EXPECT_EQ(t.layers[2].name, "fc");
  EXPECT_DOUBLE_EQ(t.layers[2].forward_ms, 0);
  EXPECT_DOUBLE_EQ(t.layers[2].backward_ms, 0.001);
}

// Columns are found by name: reordered, with extra columns around them.
TEST(TraceTest, ExtraColumnsInAnyOrder) {
  const TraceResult r = Parse(
      "gpu,backward_ms,layer,note,forward_ms,params\n"
      "0,2.5,encoder.layer.0.attention.self.query,x,1.25,590592\n"
      "0,0.5,pooler.dense,,0.25,590592\n");
  ASSERT_TRUE(r.trace.has_value()) << r.error;
  ASSERT_EQ(r.trace->layers.size(), 2u);
  EXPECT_EQ(r.trace->layers[0].name, "encoder.layer.0.attention.self.query");
  EXPECT_EQ(r.trace->layers[0].params, 590592u);
  EXPECT_DOUBLE_EQ(r.trace->layers[0].forward_ms, 1.25);
  EXPECT_DOUBLE_EQ(r.trace->layers[0].backward_ms, 2.5);
}

// What Python's csv module and spreadsheets write: CRLF, quoted fields, a byte order mark.
TEST(TraceTest, CsvAsToolsWriteIt) {
  const TraceResult r = Parse(
      "\xEF\xBB\xBF"
      "layer,params,forward_ms,backward_ms,note\r\n"
      "\"a,b\",10, 1.5 ,2,\"say \"\"hi\"\"\"\r\n"
      "\"plain\",20,1,2,\r\n");
  ASSERT_TRUE(r.trace.has_value()) << r.error;
  ASSERT_EQ(r.trace->layers.size(), 2u);
  EXPECT_EQ(r.trace->layers[0].name, "a,b");
  EXPECT_DOUBLE_EQ(r.trace->layers[0].forward_ms, 1.5);
  EXPECT_EQ(r.trace->layers[1].name, "plain");
  EXPECT_DOUBLE_EQ(r.trace->layers[1].backward_ms, 2);
}

TEST(TraceTest, BadNumbersNameLineAndColumn) {
  const std::string h = kHeader;
  EXPECT_EQ(Error(h + "conv1,9408,1,2\nfc,abc,1,2\n"),
            "t.csv:3: column 2 (params): \"abc\" is not a whole number");
  EXPECT_EQ(Error(h + "fc,100,1.5x,2\n"),
            "t.csv:2: column 3 (forward_ms): \"1.5x\" is not a number");
  EXPECT_EQ(Error(h + "fc,100,1,\n"), "t.csv:2: column 4 (backward_ms): empty");
  EXPECT_EQ(Error(h + "fc,-5,1,2\n"), "t.csv:2: column 2 (params): \"-5\" is negative");
  EXPECT_EQ(Error(h + "fc,5,-0.5,2\n"), "t.csv:2: column 3 (forward_ms): \"-0.5\" is negative");
  EXPECT_EQ(Error(h + "fc,5,1,nan\n"),
            "t.csv:2: column 4 (backward_ms): \"nan\" is not a finite number");
  EXPECT_EQ(Error(h + "fc,5,inf,1\n"),
            "t.csv:2: column 3 (forward_ms): \"inf\" is not a finite number");
  EXPECT_THAT(Error(h + "fc,5,1e999,1\n"), StartsWith("t.csv:2: column 3 (forward_ms): "));
  EXPECT_THAT(Error(h + "fc,5,3600001,1\n"), HasSubstr("more than an hour"));
  EXPECT_THAT(Error(h + "fc,0,1,2\n"),
              StartsWith("t.csv:2: column 2 (params): 0: a layer without parameters"));
  EXPECT_THAT(Error(h + "fc,1099511627777,1,2\n"),
              StartsWith("t.csv:2: column 2 (params): \"1099511627777\" is more than 2^40"));
  EXPECT_THAT(Error(h + "fc,99999999999999999999999,1,2\n"), HasSubstr("more than 2^40"));
  EXPECT_EQ(Error(h + "fc,1.5,1,2\n"), "t.csv:2: column 2 (params): \"1.5\" is not a whole number");
}

TEST(TraceTest, LimitsAreAccepted) {
  const TraceResult r = Parse(std::string(kHeader) + "fc,1099511627776,3600000,0\n");
  ASSERT_TRUE(r.trace.has_value()) << r.error;
  EXPECT_EQ(r.trace->layers[0].params, kMaxTraceLayerParams);
}

TEST(TraceTest, BadHeaders) {
  EXPECT_EQ(Error(""),
            "t.csv: empty: no header line (expected layer,params,forward_ms,backward_ms)");
  EXPECT_THAT(Error("# only a comment\n\n"), StartsWith("t.csv: empty: no header line"));
  EXPECT_THAT(Error("# x\nlayer,params,backward_ms\nfc,1,2\n"),
              StartsWith("t.csv:2: the header has no column forward_ms"));
  EXPECT_EQ(Error("layer,params,forward_ms,params,backward_ms\n"),
            "t.csv:1: column 4 (\"params\") repeats column 2 of the header");
  EXPECT_EQ(Error(kHeader), "t.csv: no layers after the header (line 1)");
  EXPECT_EQ(Error(std::string(kHeader) + "fc,1,1,1\n" + kHeader),
            "t.csv:3: a second header (two traces in one file?)");
}

TEST(TraceTest, BadRows) {
  const std::string h = kHeader;
  EXPECT_EQ(Error(h + "fc,1,1\n"), "t.csv:2: 3 fields, the header (line 1) has 4");
  EXPECT_EQ(Error(h + "fc,1,1,1,1\n"), "t.csv:2: 5 fields, the header (line 1) has 4");
  EXPECT_EQ(Error(h + ",1,1,1\n"), "t.csv:2: column 1 (layer): empty");
  EXPECT_EQ(Error(h + "fc,1,1,1\nconv,1,1,1\nfc,2,2,2\n"),
            "t.csv:4: column 1 (layer): \"fc\" repeats line 2 (one iteration per trace)");
  EXPECT_EQ(Error(h + "\"fc,1,1,1\n"), "t.csv:2: column 1: a quote is not closed");
  EXPECT_EQ(Error(h + "\"fc\"x,1,1,1\n"), "t.csv:2: column 1: text after a closing quote");
}

TEST(TraceTest, LongLinesAndTooManyLayersAreRefused) {
  const std::string long_name(kMaxTraceLineBytes, 'x');
  EXPECT_EQ(Error(std::string(kHeader) + "fc,1,1,1\n" + long_name + ",1,1,1\n"),
            "t.csv:3: longer than 4096 bytes: not a trace row");
  // Exactly at the limit (a CRLF's '\r' not counted) is a row.
  const std::string at_limit(kMaxTraceLineBytes - 6, 'y');
  EXPECT_TRUE(Parse(std::string(kHeader) + at_limit + ",1,1,1\r\n").trace.has_value());
  // A line with no end at all stops at the limit, whatever follows.
  EXPECT_THAT(Error(std::string(kHeader) + std::string(1 << 20, 'z')),
              StartsWith("t.csv:2: longer than"));

  std::string many = kHeader;
  for (size_t i = 0; i <= kMaxTraceLayers; ++i) many += "l" + std::to_string(i) + ",1,0,0\n";
  EXPECT_EQ(Error(many), "t.csv:100002: more than 100000 layers");
  many.resize(many.rfind("l100000,"));
  const TraceResult at_max = Parse(many);
  ASSERT_TRUE(at_max.trace.has_value()) << at_max.error;
  EXPECT_EQ(at_max.trace->layers.size(), kMaxTraceLayers);
}

// A tensor layout (--workload tensors:) is a trace whose times may be left out: 0 then. A
// trace proper still needs them, and a layout that has them is held to their bounds.
TEST(TraceTest, ATensorLayoutMayLeaveTheTimesOut) {
  std::istringstream layout("layer,params\nfc.weight,640\nfc.bias,10\n");
  const TraceResult r = ParseTrace(layout, "m.csv", TraceTimes::kOptional);
  ASSERT_TRUE(r.trace.has_value()) << r.error;
  ASSERT_EQ(r.trace->layers.size(), 2u);
  EXPECT_EQ(r.trace->layers[1].name, "fc.bias");
  EXPECT_EQ(r.trace->layers[1].params, 10u);
  EXPECT_EQ(r.trace->layers[1].forward_ms, 0);
  EXPECT_THAT(Error("layer,params\nfc,640\n"), HasSubstr("the header has no column forward_ms"));
  std::istringstream one_time("layer,params,backward_ms\nfc,640,-1\n");
  EXPECT_THAT(ParseTrace(one_time, "m.csv", TraceTimes::kOptional).error,
              StartsWith("m.csv:2: column 3 (backward_ms)"));
  std::istringstream no_params("layer,forward_ms\nfc,1\n");
  EXPECT_THAT(ParseTrace(no_params, "m.csv", TraceTimes::kOptional).error,
              HasSubstr("the header has no column params"));
}

TEST(TraceTest, FilesThatCannotBeReadAreErrorsNamingThem) {
  const std::string dir = ::testing::TempDir() + "gw-trace-test";
  std::filesystem::create_directories(dir);
  const TraceResult missing = ReadTraceFile(dir + "/missing.csv");
  EXPECT_FALSE(missing.trace.has_value());
  EXPECT_EQ(missing.error, dir + "/missing.csv: cannot open: No such file or directory");
  EXPECT_EQ(ReadTraceFile(dir).error, dir + ": a directory");
  // Was a read that never ends: a FIFO without a writer blocks the open.
  ASSERT_TRUE(mkfifo((dir + "/fifo").c_str(), 0600) == 0 || errno == EEXIST);
  EXPECT_EQ(ReadTraceFile(dir + "/fifo").error,
            dir + "/fifo: not a regular file (every process reads the trace)");
  std::ofstream(dir + "/good.csv") << kHeader << "fc,10,1,2\n";
  const TraceResult good = ReadTraceFile(dir + "/good.csv");
  ASSERT_TRUE(good.trace.has_value()) << good.error;
  EXPECT_EQ(good.trace->source, dir + "/good.csv");
  std::ofstream(dir + "/bad.csv") << kHeader << "fc,10,x,2\n";
  EXPECT_THAT(ReadTraceFile(dir + "/bad.csv").error, StartsWith(dir + "/bad.csv:2: column 3"));
  std::filesystem::remove_all(dir);
}

// Property: whatever bytes a file holds, the parser returns (never throws) either a trace
// within every bound or one line of error that starts with the file's name. Inputs are good
// files with seeded random byte edits, so most are near-misses of a valid trace.
TEST(TraceTest, RandomEditsNeverThrowAndKeepTheBounds) {
  const std::string good =
      "# c\nlayer,params,forward_ms,backward_ms,x\nconv1,9408,1.5,3,a\n\"fc\",1000,0.25,0.5,b\n";
  const std::string alphabet = "0123456789,.-+e\"#\n\r ainf\xEF";
  std::mt19937 rng(16);
  int accepted = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    std::string text = good;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % (text.size() + 1);
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0:
          text.insert(at, 1, c);
          break;
        case 1:
          if (at < text.size()) text[at] = c;
          break;
        default:
          if (at < text.size()) text.erase(at, 1);
      }
    }
    TraceResult r;
    ASSERT_NO_THROW(r = Parse(text)) << text;
    if (!r.trace) {
      EXPECT_THAT(r.error, StartsWith("t.csv:")) << text;
      EXPECT_EQ(r.error.find('\n'), std::string::npos) << r.error;
      continue;
    }
    ++accepted;
    EXPECT_TRUE(r.error.empty());
    ASSERT_FALSE(r.trace->layers.empty());
    for (const TraceLayer& l : r.trace->layers) {
      EXPECT_FALSE(l.name.empty());
      EXPECT_GE(l.params, 1u);
      EXPECT_LE(l.params, kMaxTraceLayerParams);
      EXPECT_TRUE(l.forward_ms >= 0 && l.forward_ms <= kMaxTraceLayerMs) << l.forward_ms;
      EXPECT_TRUE(l.backward_ms >= 0 && l.backward_ms <= kMaxTraceLayerMs) << l.backward_ms;
    }
  }
  // Both outcomes are exercised: the edits are not all fatal, nor all harmless.
  EXPECT_GT(accepted, 1000);
  EXPECT_LT(accepted, 19000);
}

TEST(TraceTest, ToModelAndTimes) {
  const TraceResult r = Parse(std::string(kHeader) + "conv1,9408,1.5,3\nfc,513000,0.25,0.000001\n");
  ASSERT_TRUE(r.trace.has_value()) << r.error;
  const ModelSpec m = r.trace->ToModel();
  EXPECT_EQ(m.params(), 9408u + 513000u);
  EXPECT_EQ(m.num_tensors(), 2u);
  ASSERT_EQ(m.layers.size(), 2u);
  EXPECT_EQ(m.layers[1].name, "fc");
  EXPECT_EQ(m.layers[1].tensors.at(0).params, 513000u);

  using std::chrono::nanoseconds;
  const std::vector<LayerTime> times = ComputeTimes(*r.trace);
  ASSERT_EQ(times.size(), 2u);
  EXPECT_EQ(times[0].forward, nanoseconds(1'500'000));
  EXPECT_EQ(times[0].backward, nanoseconds(3'000'000));
  EXPECT_EQ(times[1].forward, nanoseconds(250'000));
  EXPECT_EQ(times[1].backward, nanoseconds(1));  // rounded, not truncated to 0
}

}  // namespace
}  // namespace gw::zoo
