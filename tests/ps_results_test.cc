// Results CSVs (ps/results.h): each file's header and rows come from one column table, so
// they agree cell for cell; the headers are the exact text scripts and the two-build
// comparison (experiments/compare_builds.sh) look columns up by; a row's bytes (number
// formatting, nan, inf) are pinned.
#include <gtest/gtest.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "base/error.h"
#include "ps/results.h"
#include "tests/e2e_util.h"

namespace gw {
namespace {

using e2e::Lines;
using e2e::ReadFile;
using e2e::Split;

class ResultsTest : public ::testing::Test {
 protected:
  // Header and rows of what writer wrote for rows; every row has the header's cell count.
  template <typename Row, typename Writer>
  std::vector<std::string> Written(Writer writer, const std::vector<Row>& rows) {
    const std::string path = dir_.path() + "/out.csv";
    writer(path, rows);
    std::vector<std::string> lines = Lines(ReadFile(path));
    EXPECT_EQ(lines.size(), rows.size() + 1);
    for (size_t i = 1; i < lines.size(); ++i) {
      EXPECT_EQ(Split(lines[i]).size(), Split(lines[0]).size()) << lines[i];
    }
    return lines;
  }

  e2e::TempDir dir_;
};

TEST_F(ResultsTest, HeadersAreTheColumnNamesInTableOrder) {
  // The exact names and order every script and earlier results folder rely on.
  EXPECT_STREQ(
      kIterationCsvHeader,
      "worker,iteration,compute_s,write_s,wait_s,bytes,loss,delay_s,messages,gate_s,batch");
  EXPECT_STREQ(kRoundCsvHeader,
               "round,iteration,phase,duration_s,decode_s,messages_used,workers_used,loss");
  EXPECT_STREQ(kAccuracyCsvHeader, "iteration,elapsed_s,test_loss,test_accuracy");
  EXPECT_STREQ(
      kWindowCsvHeader,
      "worker,iteration,requested_s,start_s,end_s,bound_s,end,landed_s,message,part,posted_s,"
      "ahead,held_s");
  EXPECT_STREQ(kWriteCsvHeader, "iteration,server,part,bytes,gate_s,queued_s,wire_s");
  EXPECT_STREQ(kLayerCsvHeader,
               "worker,iteration,layer,start_s,bytes,forward_start_s,forward_end_s,"
               "backward_end_s,push_start_s,push_end_s,params_s");

  const std::vector<std::string> names = Split(kIterationCsvHeader);
  ASSERT_EQ(names.size(), kIterationCsvColumns.size());
  for (size_t i = 0; i < names.size(); ++i) EXPECT_EQ(names[i], kIterationCsvColumns[i].name);
}

TEST_F(ResultsTest, IterationRowBytes) {
  IterationRow row;
  row.worker = 3;
  row.iteration = 7;
  row.compute_s = 0.001234567891;
  row.write_s = 0.5;
  row.wait_s = 2e-5;
  row.bytes = 4096;
  row.loss = 1.0 / 3.0;
  row.delay_s = 0;
  row.messages = 1;
  row.gate_s = 0.25;
  row.batch = 64;
  const auto lines = Written(WriteCsv<IterationRow, kIterationCsvColumns>,
                             std::vector<IterationRow>{row, IterationRow{}});
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], kIterationCsvHeader);
  EXPECT_EQ(lines[1], "3,7,0.00123456789,0.5,2e-05,4096,0.333333333,0,1,0.25,64");
  EXPECT_EQ(lines[2], "0,0,0,0,0,0,0,0,1,0,0");
}

TEST_F(ResultsTest, RoundRowBytesWithAndWithoutLoss) {
  RoundRow mds;
  mds.round = 12;
  mds.iteration = 6;
  mds.phase = 0;
  mds.duration_s = 0.0123456789012;
  mds.decode_s = 1.5e-7;
  mds.messages_used = 5;
  mds.workers_used = 4;
  mds.loss = 123456.789012;
  RoundRow plain = mds;
  plain.phase = 1;
  plain.loss = std::numeric_limits<double>::quiet_NaN();
  const auto lines =
      Written(WriteCsv<RoundRow, kRoundCsvColumns>, std::vector<RoundRow>{mds, plain});
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], kRoundCsvHeader);
  EXPECT_EQ(lines[1], "12,6,0,0.0123456789,1.5e-07,5,4,123456.789");
  EXPECT_EQ(lines[2], "12,6,1,0.0123456789,1.5e-07,5,4,nan");
}

TEST_F(ResultsTest, AccuracyRowBytes) {
  const auto lines = Written(WriteCsv<AccuracyRow, kAccuracyCsvColumns>,
                             std::vector<AccuracyRow>{{.iteration = 100,
                                                       .elapsed_s = 12.3456789012,
                                                       .test_loss = 0.456,
                                                       .test_accuracy = 0.8125}});
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], kAccuracyCsvHeader);
  EXPECT_EQ(lines[1], "100,12.3456789,0.456,0.8125");
}

TEST_F(ResultsTest, WindowRowBytesWithOpenBoundAndNoLanding) {
  WindowRow row;
  row.worker = 2;
  row.iteration = 9;
  row.requested_s = 1.25;
  row.start_s = 1.5;
  row.end_s = 2.0000000001;
  row.bound_s = std::numeric_limits<double>::infinity();
  row.end = "removed";
  row.message = 3;
  row.part = 5;
  auto lines = Written(WriteCsv<WindowRow, kWindowCsvColumns>, std::vector<WindowRow>{row});
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], kWindowCsvHeader);
  EXPECT_EQ(lines[1], "2,9,1.25,1.5,2,inf,removed,nan,3,5,nan,0,0");  // no notice of a post
  row.posted_s = 1.75;
  row.ahead = 1;
  row.held_s = 0.125;
  lines = Written(WriteCsv<WindowRow, kWindowCsvColumns>, std::vector<WindowRow>{row});
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1], "2,9,1.25,1.5,2,inf,removed,nan,3,5,1.75,1,0.125");
}

TEST_F(ResultsTest, WriteRecordBytes) {
  const auto lines = Written(WriteCsv<WriteRecord, kWriteCsvColumns>,
                             std::vector<WriteRecord>{{.iteration = 4,
                                                       .server = 1,
                                                       .part = 2,
                                                       .bytes = 4194304,
                                                       .gate_s = 0,
                                                       .queued_s = 3.25e-4,
                                                       .wire_s = 0.0625}});
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], kWriteCsvHeader);
  EXPECT_EQ(lines[1], "4,1,2,4194304,0,0.000325,0.0625");
}

TEST_F(ResultsTest, LayerRecordBytes) {
  const auto lines = Written(WriteCsv<LayerRecord, kLayerCsvColumns>,
                             std::vector<LayerRecord>{{.worker = 5,
                                                       .iteration = 11,
                                                       .layer = 160,
                                                       .start_s = 12.5,
                                                       .bytes = 9437184,
                                                       .forward_start_s = 0.0125,
                                                       .forward_end_s = 0.0130,
                                                       .backward_end_s = 0.25,
                                                       .push_start_s = 0.2500001,
                                                       .push_end_s = 1.0 / 3.0,
                                                       .params_s = 2.5e-7}});
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], kLayerCsvHeader);
  EXPECT_EQ(lines[1], "5,11,160,12.5,9437184,0.0125,0.013,0.25,0.2500001,0.333333333,2.5e-07");
}

TEST_F(ResultsTest, EmptyTableIsTheHeaderAlone) {
  const auto lines = Written(WriteCsv<RoundRow, kRoundCsvColumns>, std::vector<RoundRow>{});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], kRoundCsvHeader);
}

// A full disk shows when the buffered rows are written out at close: the error names the
// file and the reason (it used to say only "failed writing", or nothing at all).
TEST(ResultsWriteError, NamesTheFileAndTheErrno) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full on this host";
  try {
    WriteCsv<IterationRow, kIterationCsvColumns>("/dev/full", std::vector<IterationRow>(3));
    FAIL() << "a write to /dev/full was reported as done";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/dev/full"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(std::strerror(ENOSPC)), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace gw
