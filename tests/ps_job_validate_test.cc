// JobConfig::Validate (ps/job.h): the one place a job's configuration is refused, each time
// with one line naming the flags. The command line reaches it through JobFrom
// (tests/apps_flags_test.cc); these build the JobConfig directly, as a simulator would.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <string>

#include "base/error.h"
#include "ps/imm.h"
#include "ps/job.h"

namespace gw {
namespace {

using ::testing::HasSubstr;

// A valid job of 4 workers on the synthetic workload (no data set needed).
JobConfig Job() {
  JobConfig j;
  j.workload.kind = "synthetic";
  j.workload.synthetic_bytes = 4096;
  j.num_workers = 4;
  return j;
}

std::string RefusalOf(const std::function<void(JobConfig&)>& change) {
  JobConfig j = Job();
  change(j);
  try {
    j.Validate();
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.find('\n'), std::string::npos) << "one line: " << what;
    return what;
  }
  return "";
}

TEST(JobValidate, AcceptsAValidJobUnderEveryRule) {
  EXPECT_NO_THROW(Job().Validate());
  for (const char* sync : {"bsp", "asp", "ssp:2"}) {
    EXPECT_EQ(RefusalOf([&](JobConfig& j) { j.sync = SyncSpec::Parse(sync); }), "") << sync;
  }
  EXPECT_EQ(RefusalOf([](JobConfig& j) {
              j.sync = SyncSpec::Parse("r2sp");
              j.windows = sched::WindowSpec::Parse("round-robin");
              j.batch_tuning = true;
            }),
            "");
  EXPECT_EQ(RefusalOf([](JobConfig& j) { j.coding = coding::CodingSpec::Parse("gc-cr:s=1"); }), "");
}

TEST(JobValidate, RefusesSizesOutOfRange) {
  EXPECT_THAT(RefusalOf([](JobConfig& j) { j.num_workers = 0; }), HasSubstr("--num-workers"));
  EXPECT_THAT(RefusalOf([](JobConfig& j) { j.num_servers = 0; }), HasSubstr("--num-servers"));
  EXPECT_THAT(RefusalOf([](JobConfig& j) { j.part_bytes = 0; }), HasSubstr("--part-bytes"));
  EXPECT_THAT(RefusalOf([](JobConfig& j) { j.workload.batch_size = 0; }), HasSubstr("--batch"));
  EXPECT_THAT(RefusalOf([](JobConfig& j) { j.iterations = 0; }), HasSubstr("--iterations"));
  EXPECT_THAT(RefusalOf([](JobConfig& j) { j.timeout = std::chrono::milliseconds(0); }),
              HasSubstr("--timeout"));
}

TEST(JobValidate, RefusesOptimizerValuesOutOfRange) {
  for (const double lr : {-1.0, 0.0, std::nan(""), HUGE_VAL}) {
    EXPECT_THAT(RefusalOf([&](JobConfig& j) { j.optimizer.lr.base_lr = lr; }), HasSubstr("--lr"));
  }
  for (const double m : {-0.5, 1.0, 2.0, std::nan("")}) {
    EXPECT_THAT(RefusalOf([&](JobConfig& j) { j.optimizer.momentum = m; }),
                HasSubstr("--momentum"));
  }
  EXPECT_THAT(RefusalOf([](JobConfig& j) { j.optimizer.weight_decay = -0.1; }),
              HasSubstr("--weight-decay"));
}

TEST(JobValidate, RefusesWorkersTheJobDoesNotHave) {
  const std::string error = RefusalOf([](JobConfig& j) {
    j.straggler = coding::StragglerModel::Parse("fail-stop:worker=4,at=2", 1);
  });
  EXPECT_THAT(error, HasSubstr("worker 4"));
  EXPECT_THAT(error, HasSubstr("--num-workers 4"));
  EXPECT_THAT(RefusalOf([](JobConfig& j) {
                j.windows = sched::WindowSpec::Parse("slots:period=10,slot=5");
              }),
              HasSubstr("--windows"));
  EXPECT_THAT(RefusalOf([](JobConfig& j) { j.coding = coding::CodingSpec::Parse("gc-cr:s=4"); }),
              HasSubstr("--coding gc-cr:s=4 with --num-workers 4"));
}

TEST(JobValidate, RefusesContradictorySyncWindowsAndCoding) {
  EXPECT_THAT(RefusalOf([](JobConfig& j) { j.sync = SyncSpec::Parse("r2sp"); }),
              HasSubstr("--windows round-robin"));
  EXPECT_THAT(RefusalOf([](JobConfig& j) { j.batch_tuning = true; }),
              HasSubstr("needs --sync r2sp"));
  for (const char* sync : {"asp", "ssp:1"}) {
    EXPECT_THAT(RefusalOf([&](JobConfig& j) {
                  j.coding = coding::CodingSpec::Parse("uncoded");
                  j.sync = SyncSpec::Parse(sync);
                }),
                HasSubstr(std::string("--sync ") + sync));
  }
  EXPECT_THAT(RefusalOf([](JobConfig& j) {
                j.coding = coding::CodingSpec::Parse("uncoded");
                j.eval_every = 10;
              }),
              HasSubstr("--eval-every"));
  EXPECT_THAT(RefusalOf([](JobConfig& j) {
                j.coding = coding::CodingSpec::Parse("uncoded");
                j.num_servers = 2;
              }),
              HasSubstr("--num-servers 1"));
  EXPECT_THAT(RefusalOf([](JobConfig& j) { j.coding = coding::CodingSpec::Parse("mds:k=2"); }),
              HasSubstr("--workload linreg"));
}

TEST(JobValidate, RefusesAModelThatDoesNotLayOut) {
  EXPECT_THAT(RefusalOf([](JobConfig& j) {
                j.workload.synthetic_bytes = 8;
                j.num_servers = 3;
              }),
              HasSubstr("fewer servers"));
  EXPECT_THAT(RefusalOf([](JobConfig& j) { j.workload.synthetic_bytes = 6; }),
              HasSubstr("--workload synthetic"));
  EXPECT_THAT(RefusalOf([](JobConfig& j) { j.workload.kind = "nonesuch"; }),
              HasSubstr("--workload nonesuch"));
  // A coded round in parts of one float: more writes than the immediate can number.
  EXPECT_THAT(RefusalOf([](JobConfig& j) {
                j.coding = coding::CodingSpec::Parse("mm:r=2");
                j.part_bytes = 4;
                j.workload.synthetic_bytes = 16 << 10;  // 4096 parts: the layout takes them
              }),
              HasSubstr("--part-bytes"));
}

// A layered job (a zoo model): ordered pushes, its device, its partitions.
JobConfig ModelJob(const std::string& name) {
  JobConfig j = Job();
  j.workload.SetText("model:" + name);
  return j;
}

std::string ModelRefusal(const std::string& name, const std::function<void(JobConfig&)>& change) {
  return RefusalOf([&](JobConfig& j) {
    j.workload = ModelJob(name).workload;
    change(j);
  });
}

TEST(JobValidate, AcceptsALayeredJobWithEveryPushOrder) {
  for (const char* order : {"fifo", "priority", "priority:inflight=4", "credit:credit=65536"}) {
    EXPECT_EQ(ModelRefusal("resnet50",
                           [&](JobConfig& j) {
                             j.push_order = *sched::ParsePushOrder(order).spec;
                             j.num_servers = 2;
                           }),
              "")
        << order;
  }
}

TEST(JobValidate, RefusesPushOrdersWithoutLayers) {
  const std::string why =
      RefusalOf([](JobConfig& j) { j.push_order = *sched::ParsePushOrder("priority").spec; });
  EXPECT_THAT(why, HasSubstr("--push-order priority"));
  EXPECT_THAT(why, HasSubstr("--workload synthetic has none"));
  EXPECT_THAT(ModelRefusal("alexnet",
                           [](JobConfig& j) {
                             j.push_order = *sched::ParsePushOrder("credit:credit=8192").spec;
                             j.coding = coding::CodingSpec::Parse("uncoded");
                           }),
              HasSubstr("--coding"));
}

TEST(JobValidate, RefusesADeviceWithoutASpeed) {
  for (const double tflops : {0.0, -1.0, std::nan(""), HUGE_VAL}) {
    EXPECT_THAT(ModelRefusal("alexnet", [&](JobConfig& j) { j.workload.device_tflops = tflops; }),
                HasSubstr("--device-tflops"))
        << tflops;
  }
}

// A layered model's parts are the partitions of P3 and ByteScheduler: at least a page, at
// most the model.
TEST(JobValidate, RefusesPartitionsBelowAPageOrAboveTheModel) {
  const std::string small = ModelRefusal("resnet18", [](JobConfig& j) { j.part_bytes = 4095; });
  EXPECT_THAT(small, HasSubstr("--part-bytes 4095 with --workload model:resnet18"));
  EXPECT_THAT(small, HasSubstr("4096 bytes"));
  const std::string large =
      ModelRefusal("resnet18", [](JobConfig& j) { j.part_bytes = 11'689'512 * 4 + 1; });
  EXPECT_THAT(large, HasSubstr("the model's 46758048 bytes"));
  EXPECT_EQ(ModelRefusal("resnet18", [](JobConfig& j) { j.part_bytes = 11'689'512 * 4; }), "");
  // A page per part: 11,427 parts, which take 3 servers to number.
  EXPECT_EQ(ModelRefusal("resnet18",
                         [](JobConfig& j) {
                           j.part_bytes = 4096;
                           j.num_servers = 3;
                         }),
            "");
  // 4096 bytes is no bound for the flat models: a part there is just a write.
  EXPECT_EQ(RefusalOf([](JobConfig& j) { j.part_bytes = 4; }), "");
}

// ResNet-50 at the default --part-bytes lays out on one server; at a page per part its
// 25,557,032 floats make about 25,000 parts, more than one server's immediate can number.
TEST(JobValidate, ResNet50PartsFitTheImmediate) {
  const JobConfig job = ModelJob("resnet50");
  EXPECT_NO_THROW(job.Validate());
  const auto workload = MakeWorkload(job.workload, 0, job.num_workers, false);
  const ModelLayout layout = job.Layout(*workload);
  EXPECT_GE(layout.parts(0).size(), workload->layers().size());  // a part per layer at least
  EXPECT_LE(layout.parts(0).size(), Imm::kMaxParts);
  EXPECT_THAT(ModelRefusal("resnet50", [](JobConfig& j) { j.part_bytes = 4096; }),
              HasSubstr("raise --part-bytes"));
  EXPECT_EQ(ModelRefusal("resnet50",
                         [](JobConfig& j) {
                           j.part_bytes = 4096;
                           j.num_servers = 8;
                         }),
            "");
}

// A flat model is validated from its sizes: 2^40 parts of one float over 2^28 servers is
// accepted (4096 parts each) without laying out 2^40 parts.
TEST(JobValidate, ValidatingAFlatModelAllocatesNothing) {
  EXPECT_EQ(RefusalOf([](JobConfig& j) {
              j.workload.synthetic_bytes = uint64_t{4} << 40;
              j.part_bytes = 4;
              j.num_servers = 1u << 28;
            }),
            "");
}

TEST(JobValidate, RefusesAnUnknownModelListingTheKnownOnes) {
  const std::string why = ModelRefusal("resnet", [](JobConfig&) {});
  EXPECT_THAT(why, HasSubstr("--workload model:resnet: unknown model 'resnet' (known: "));
  EXPECT_THAT(why, HasSubstr("gpt2_small"));
}

// A layered job's layout cuts parts within layers: worker, server and Validate build it the
// same way (JobConfig::Layout), here with a flat model's one segment for comparison.
TEST(JobValidate, LayoutCutsWithinLayers) {
  JobConfig job = ModelJob("resnet18");
  job.part_bytes = 1 << 20;
  job.num_servers = 2;
  const auto workload = MakeWorkload(job.workload, 0, job.num_workers, false);
  const ModelLayout layout = job.Layout(*workload);
  const ModelLayout flat(workload->num_params(), job.PartFloats(workload->num_params()), 2);
  size_t parts = 0;
  std::vector<size_t> layer_ends;
  for (const WorkloadLayer& l : workload->layers()) layer_ends.push_back(l.begin + l.size);
  for (uint32_t s = 0; s < 2; ++s) {
    for (const Part& p : layout.parts(s)) {
      ++parts;
      const auto layer = std::upper_bound(layer_ends.begin(), layer_ends.end(), p.begin);
      ASSERT_NE(layer, layer_ends.end());
      EXPECT_LE(p.begin + p.size, *layer) << "part at " << p.begin << " straddles a layer";
      EXPECT_EQ(p.segment, static_cast<size_t>(layer - layer_ends.begin())) << p.begin;
    }
  }
  EXPECT_GT(parts, flat.parts(0).size() + flat.parts(1).size());
}

}  // namespace
}  // namespace gw
