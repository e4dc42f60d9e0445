// Workloads: IDX parsing, Fashion-MNIST loading and partitioning, gradients against finite
// differences, SGD convergence, determinism and the error messages.
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "base/error.h"
#include "ps/workload/fashion_mnist.h"
#include "ps/workload/idx.h"
#include "ps/workload/linreg.h"
#include "ps/workload/models.h"
#include "ps/workload/partition.h"
#include "ps/workload/workload.h"

namespace gw {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kInstallHint[] = "apt-get install dataset-fashion-mnist";

// --- IDX ---------------------------------------------------------------------------------

std::vector<uint8_t> MakeIdx(uint32_t magic, const std::vector<uint32_t>& dims,
                             const std::vector<uint8_t>& data) {
  std::vector<uint8_t> bytes;
  auto put = [&](uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(uint8_t(v >> shift));
  };
  put(magic);
  for (uint32_t d : dims) put(d);
  bytes.insert(bytes.end(), data.begin(), data.end());
  return bytes;
}

std::string ParseError(const std::vector<uint8_t>& bytes) {
  try {
    ParseIdx(bytes);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(IdxTest, ParsesImagesAndLabels) {
  const IdxArray images =
      ParseIdx(MakeIdx(0x803, {2, 2, 3}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255}));
  EXPECT_THAT(images.dims, ElementsAre(2, 2, 3));
  EXPECT_EQ(images.data.size(), 12u);
  EXPECT_EQ(images.data.back(), 255);
  const IdxArray labels = ParseIdx(MakeIdx(0x801, {3}, {7, 8, 9}));
  EXPECT_THAT(labels.dims, ElementsAre(3));
  EXPECT_THAT(labels.data, ElementsAre(7, 8, 9));
}

TEST(IdxTest, RejectsMalformedBuffers) {
  const std::vector<uint8_t> good = MakeIdx(0x803, {2, 2, 2}, std::vector<uint8_t>(8, 1));
  EXPECT_THAT(ParseError({good.begin(), good.end() - 1}), HasSubstr("do not match"));
  std::vector<uint8_t> extra = good;
  extra.push_back(0);
  EXPECT_THAT(ParseError(extra), HasSubstr("do not match"));
  EXPECT_THAT(ParseError({good.begin(), good.begin() + 10}), HasSubstr("too short"));
  EXPECT_THAT(ParseError({0, 0, 8}), HasSubstr("too short"));
  EXPECT_THAT(ParseError({}), HasSubstr("too short"));
  for (uint32_t magic : {0x0903u, 0x0800u, 0x0804u, 0x01000803u, 0x0d03u}) {
    EXPECT_THAT(ParseError(MakeIdx(magic, {1, 1, 1}, {0})), HasSubstr("bad magic")) << magic;
  }
  EXPECT_THAT(ParseError(MakeIdx(0x803, {2, 0, 2}, {})), HasSubstr("zero"));
  // Dimensions whose product overflows 64 bits must not wrap around to the payload size.
  EXPECT_THAT(ParseError(MakeIdx(0x803, {0xffffffff, 0xffffffff, 0xffffffff}, {0})),
              HasSubstr("do not match"));
  EXPECT_THAT(ParseError(MakeIdx(0x803, {1u << 31, 1u << 31, 4}, {})), HasSubstr("do not match"));
  EXPECT_THROW(ParseIdx(MakeIdx(0x801, {4}, {1, 2, 3})), Error);
}

class TempDir {
 public:
  TempDir()
      : path_(std::filesystem::temp_directory_path() /
              ("gw_workload_test_" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

void WriteFile(const std::string& path, const std::vector<uint8_t>& bytes, bool gzip) {
  if (gzip) {
    gzFile f = gzopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(gzwrite(f, bytes.data(), bytes.size()), int(bytes.size()));
    gzclose(f);
  } else {
    FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
  }
}

TEST(IdxTest, ReadsGzipAndPlainFilesAndNamesTheFileInErrors) {
  TempDir dir;
  const std::vector<uint8_t> labels = MakeIdx(0x801, {4}, {3, 1, 4, 1});
  WriteFile(dir.File("l.gz"), labels, true);
  WriteFile(dir.File("l"), labels, false);
  EXPECT_THAT(ReadIdxFile(dir.File("l.gz")).data, ElementsAre(3, 1, 4, 1));
  EXPECT_THAT(ReadIdxFile(dir.File("l")).data, ElementsAre(3, 1, 4, 1));
  WriteFile(dir.File("bad.gz"), {labels.begin(), labels.end() - 1}, true);
  try {
    ReadIdxFile(dir.File("bad.gz"));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("bad.gz"));
  }
  EXPECT_THROW(ReadIdxFile(dir.File("absent")), Error);
}

// --- Partitions and batches -----------------------------------------------------------

TEST(PartitionTest, SharesAreDisjointCoverAndBalanced) {
  constexpr size_t kRows = 60000;
  std::vector<int> seen(kRows, 0);
  for (uint32_t rank = 0; rank < 4; ++rank) {
    const std::vector<uint32_t> rows = PartitionRows(kRows, 7, rank, 4);
    EXPECT_EQ(rows.size(), kRows / 4);
    for (uint32_t r : rows) ++seen[r];
  }
  EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](int n) { return n == 1; }));
  EXPECT_EQ(PartitionRows(10, 7, 2, 3).size(), 4u);  // 3 + 3 + 4
  EXPECT_NE(PartitionRows(100, 7, 0, 2), PartitionRows(100, 8, 0, 2));
  EXPECT_THROW(PartitionRows(10, 7, 3, 3), Error);
}

TEST(PartitionTest, BatchesWalkEachEpochOnceAndReshuffle) {
  const std::vector<uint32_t> rows = PartitionRows(50, 1, 0, 1);
  BatchCycler batches(rows, 16, 1, 0);
  EXPECT_EQ(batches.batches_per_epoch(), 4u);
  std::vector<std::vector<uint32_t>> epochs(2);
  for (auto& epoch : epochs) {
    for (size_t expected : {16, 16, 16, 2}) {
      const std::span<const uint32_t> b = batches.Next();
      EXPECT_EQ(b.size(), expected);
      epoch.insert(epoch.end(), b.begin(), b.end());
    }
    EXPECT_TRUE(std::is_permutation(epoch.begin(), epoch.end(), rows.begin(), rows.end()));
  }
  EXPECT_NE(epochs[0], epochs[1]);
  EXPECT_THROW(BatchCycler({}, 16, 1, 0), Error);
  EXPECT_THROW(BatchCycler(rows, 0, 1, 0), Error);
}

// --batch-tuning re-sizes batches mid-walk: the walk goes on from where it is, in the same
// epoch order, with the new size (no row skipped or repeated within the epoch).
TEST(PartitionTest, SetBatchSizeGoesOnFromWhereTheWalkIs) {
  const std::vector<uint32_t> rows = PartitionRows(50, 1, 0, 1);
  BatchCycler one_by_one(rows, 1, 1, 0);
  std::vector<uint32_t> order;
  for (size_t i = 0; i < rows.size(); ++i) order.push_back(one_by_one.Next()[0]);
  BatchCycler batches(rows, 16, 1, 0);
  std::vector<uint32_t> walked;
  auto take = [&](size_t expected) {
    const std::span<const uint32_t> b = batches.Next();
    EXPECT_EQ(b.size(), expected);
    walked.insert(walked.end(), b.begin(), b.end());
  };
  take(16);
  batches.SetBatchSize(5);
  take(5);
  batches.SetBatchSize(20);
  take(20);
  take(9);  // the epoch's short last batch
  EXPECT_EQ(walked, order);
  EXPECT_THROW(batches.SetBatchSize(0), Error);
}

// --- Gradients ---------------------------------------------------------------------------

constexpr int kTinyInputs = 5;
constexpr int kTinyClasses = 3;

// n random samples with labels cycling through the classes.
ClassifierData TinyData(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  auto d = std::make_shared<Dataset>();
  d->x = RowMatrixXf::NullaryExpr(n, kTinyInputs, [&] { return uniform(rng); });
  d->y = Eigen::VectorXi::LinSpaced(n, 0, n - 1).unaryExpr([](int i) { return i % kTinyClasses; });
  return {kTinyInputs, kTinyClasses, d, d};
}

std::vector<float> RandomParams(const Workload& w, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.5f);
  std::vector<float> p(w.num_params());
  for (float& v : p) v = normal(rng);
  return p;
}

// The workload's batch must be its whole (training = test) set so that Evaluate gives the
// loss that ComputeGradient differentiates.
void ExpectGradientMatchesCentralDifferences(Workload& w, std::vector<float> params) {
  std::vector<float> grad(w.num_params());
  const double loss = w.ComputeGradient(params, grad);
  EXPECT_NEAR(loss, w.Evaluate(params).loss, 1e-5);
  constexpr float kEps = 1e-3f;
  for (size_t i = 0; i < params.size(); ++i) {
    const float saved = params[i];
    params[i] = saved + kEps;
    const double up = w.Evaluate(params).loss;
    params[i] = saved - kEps;
    const double down = w.Evaluate(params).loss;
    params[i] = saved;
    const double numeric = (up - down) / (2 * kEps);
    EXPECT_NEAR(grad[i], numeric, 1e-3 + 1e-2 * std::abs(numeric)) << w.name() << " param " << i;
  }
}

WorkloadSpec SpecWithBatch(const std::string& kind, size_t batch_size) {
  WorkloadSpec spec;
  spec.kind = kind;
  spec.batch_size = batch_size;
  return spec;
}

TEST(GradientTest, SoftmaxMatchesFiniteDifferences) {
  auto w = MakeSoftmax(SpecWithBatch("softmax", 8), TinyData(8, 1), 0, 1);
  EXPECT_EQ(w->num_params(), size_t{kTinyClasses * (kTinyInputs + 1)});
  ExpectGradientMatchesCentralDifferences(*w, RandomParams(*w, 2));
}

TEST(GradientTest, MlpMatchesFiniteDifferences) {
  WorkloadSpec spec = SpecWithBatch("mlp", 8);
  spec.mlp_hidden = 6;
  auto w = MakeMlp(spec, TinyData(8, 3), 0, 1);
  EXPECT_EQ(w->num_params(), size_t{(kTinyInputs + 1) * 6 + (6 + 1) * kTinyClasses});
  std::vector<float> params(w->num_params());
  w->InitParams(params);
  const std::vector<float> noise = RandomParams(*w, 4);
  for (size_t i = 0; i < params.size(); ++i) params[i] += 0.1f * noise[i];  // nonzero biases
  ExpectGradientMatchesCentralDifferences(*w, params);
}

TEST(GradientTest, LinregMatchesFiniteDifferences) {
  WorkloadSpec spec = SpecWithBatch("linreg", 8);
  spec.linreg_rows = 8;
  spec.linreg_dims = 4;
  auto w = MakeLinreg(spec, 0, 1, true);
  ExpectGradientMatchesCentralDifferences(*w, RandomParams(*w, 5));
}

TEST(LinregTest, ProblemIsReproducibleAndConsistent) {
  WorkloadSpec spec;
  spec.linreg_rows = 64;
  spec.linreg_dims = 8;
  spec.linreg_noise = 0;
  const LinregProblem a = MakeLinregProblem(spec);
  const LinregProblem b = MakeLinregProblem(spec);
  EXPECT_EQ(a.a, b.a);
  EXPECT_EQ(a.y, b.y);
  EXPECT_TRUE(a.y.isApprox(a.a * a.x_star));
  auto w = MakeLinreg(spec, 0, 1, true);
  const std::vector<float> x_star(a.x_star.begin(), a.x_star.end());
  EXPECT_NEAR(w->Evaluate(x_star).loss, 0, 1e-9);
  EXPECT_EQ(w->Evaluate(x_star).accuracy, -1);
}

// --- Training ----------------------------------------------------------------------------

// Plain SGD; returns the evaluation at the end.
EvalResult TrainSgd(Workload& w, int steps, float lr) {
  std::vector<float> params(w.num_params()), grad(w.num_params());
  w.InitParams(params);
  for (int s = 0; s < steps; ++s) {
    w.ComputeGradient(params, grad);
    for (size_t i = 0; i < params.size(); ++i) params[i] -= lr * grad[i];
  }
  return w.Evaluate(params);
}

TEST(TrainingTest, LinregLossFallsTenfold) {
  auto w = MakeWorkload(SpecWithBatch("linreg", 64), 0, 4, true);
  std::vector<float> zeros(w->num_params(), 0.0f);
  const double initial = w->Evaluate(zeros).loss;
  const double final_loss = TrainSgd(*w, 300, 0.1f).loss;
  EXPECT_LT(final_loss, initial / 10) << "initial " << initial;
}

// --- Fashion-MNIST -----------------------------------------------------------------------

class FashionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    try {
      data_ = new FashionMnist(LoadFashionMnist(WorkloadSpec().data_dir));
    } catch (const Error& e) {
      skip_reason_ = new std::string(e.what());
    }
  }
  static void TearDownTestSuite() {
    delete data_;
    delete skip_reason_;
    data_ = nullptr;
    skip_reason_ = nullptr;
  }
  void SetUp() override {
    if (data_ == nullptr) GTEST_SKIP() << *skip_reason_;  // says what to install
  }
  static ClassifierData Fashion() {
    return {kFashionPixels, kFashionClasses, data_->train, data_->test};
  }

  static FashionMnist* data_;
  static std::string* skip_reason_;
};
FashionMnist* FashionTest::data_ = nullptr;
std::string* FashionTest::skip_reason_ = nullptr;

TEST_F(FashionTest, LoadsBothSplits) {
  for (const auto& [split, rows] :
       {std::pair{data_->train, 60000}, std::pair{data_->test, 10000}}) {
    EXPECT_EQ(split->x.rows(), rows);
    EXPECT_EQ(split->x.cols(), kFashionPixels);
    EXPECT_EQ(split->y.size(), rows);
    EXPECT_EQ(split->y.minCoeff(), 0);
    EXPECT_EQ(split->y.maxCoeff(), 9);
    EXPECT_EQ(split->x.minCoeff(), 0.0f);
    EXPECT_EQ(split->x.maxCoeff(), 1.0f);
  }
  EXPECT_EQ((data_->test->y.array() == 3).count(), 1000);  // balanced classes
}

TEST_F(FashionTest, SoftmaxSgdReachesSeventyFivePercent) {
  auto w = MakeSoftmax(SpecWithBatch("softmax", 64), Fashion(), 0, 4);
  EXPECT_EQ(w->num_params(), 7850u);
  EXPECT_EQ(w->batches_per_epoch(), 235u);  // ceil(15000 / 64)
  const EvalResult initial = w->Evaluate(std::vector<float>(w->num_params(), 0.0f));
  EXPECT_NEAR(initial.loss, std::log(10.0), 1e-5);
  const EvalResult trained = TrainSgd(*w, 300, 0.1f);  // 0.5 oscillates on raw [0, 1] pixels
  EXPECT_LT(trained.loss, initial.loss * 0.35);
  EXPECT_GT(trained.accuracy, 0.75);
}

TEST_F(FashionTest, MlpSgdLearns) {
  auto w = MakeMlp(SpecWithBatch("mlp", 64), Fashion(), 1, 4);
  const EvalResult trained = TrainSgd(*w, 200, 0.1f);
  EXPECT_LT(trained.loss, 0.8);
  EXPECT_GT(trained.accuracy, 0.7);
}

TEST_F(FashionTest, MakeWorkloadLoadsFromTheDataDir) {
  auto w = MakeWorkload(SpecWithBatch("mlp", 100), 3, 4, true);
  EXPECT_EQ(w->batches_per_epoch(), 150u);
  std::vector<float> params(w->num_params()), grad(w->num_params());
  w->InitParams(params);
  EXPECT_GT(w->ComputeGradient(params, grad), 0);
}

// --- Determinism -------------------------------------------------------------------------

std::vector<float> FirstGradient(Workload& w) {
  std::vector<float> params(w.num_params()), grad(w.num_params());
  w.InitParams(params);
  std::fill(params.begin(), params.begin() + std::min<size_t>(params.size(), 5), 0.25f);
  w.ComputeGradient(params, grad);
  return grad;
}

TEST(DeterminismTest, SameSeedSameGradientsDifferentRankDifferentBatches) {
  const ClassifierData data = TinyData(64, 9);
  for (const std::string kind : {"softmax", "mlp", "linreg"}) {
    const WorkloadSpec spec = SpecWithBatch(kind, 4);
    auto make = [&](uint32_t rank) {
      return kind == "softmax" ? MakeSoftmax(spec, data, rank, 2)
             : kind == "mlp"   ? MakeMlp(spec, data, rank, 2)
                               : MakeLinreg(spec, rank, 2, true);
    };
    auto a = make(0), b = make(0), c = make(1);
    const std::vector<float> ga = FirstGradient(*a);
    EXPECT_EQ(ga, FirstGradient(*b)) << kind;
    EXPECT_NE(ga, FirstGradient(*c)) << kind;
    EXPECT_NE(ga, FirstGradient(*a)) << kind << ": the next batch differs";
  }
}

TEST(DeterminismTest, MlpInitDependsOnlyOnTheSeed) {
  WorkloadSpec spec = SpecWithBatch("mlp", 4);
  std::vector<float> p0(MakeWorkload(spec, 0, 4, false)->num_params()), p1(p0.size()),
      p2(p0.size());
  MakeWorkload(spec, 0, 4, false)->InitParams(p0);
  MakeWorkload(spec, 3, 4, false)->InitParams(p1);
  spec.seed = 2;
  MakeWorkload(spec, 0, 4, false)->InitParams(p2);
  EXPECT_EQ(p0, p1);
  EXPECT_NE(p0, p2);
}

// --- Shapes, synthetic, errors -------------------------------------------------------------

std::string MakeError(const WorkloadSpec& spec, bool load_data) {
  try {
    MakeWorkload(spec, 0, 1, load_data);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(MakeWorkloadTest, WithoutDataOnlyShapeAndInit) {
  auto softmax = MakeWorkload(SpecWithBatch("softmax", 4), 0, 4, false);
  EXPECT_EQ(softmax->num_params(), 7850u);
  auto mlp = MakeWorkload(SpecWithBatch("mlp", 4), 0, 4, false);
  EXPECT_EQ(mlp->num_params(), 784u * 128 + 128 + 128 * 10 + 10);
  auto linreg = MakeWorkload(SpecWithBatch("linreg", 4), 0, 4, false);
  EXPECT_EQ(linreg->num_params(), 256u);
  for (Workload* w : {softmax.get(), mlp.get(), linreg.get()}) {
    std::vector<float> params(w->num_params(), 1.0f), grad(w->num_params());
    w->InitParams(params);
    try {
      w->ComputeGradient(params, grad);
      ADD_FAILURE() << w->name() << ": no error";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("workload built without data"));
    }
    EXPECT_THROW(w->Evaluate(params), Error);
  }
}

TEST(MakeWorkloadTest, Synthetic) {
  WorkloadSpec spec = SpecWithBatch("synthetic", 4);
  spec.synthetic_bytes = 4096;
  auto w = MakeWorkload(spec, 2, 4, true);
  EXPECT_EQ(w->num_params(), 1024u);
  EXPECT_EQ(w->batches_per_epoch(), 1u);
  std::vector<float> params(1024), grad(1024);
  EXPECT_EQ(w->ComputeGradient(params, grad), 0);
  EXPECT_TRUE(std::all_of(grad.begin(), grad.end(), [&](float g) { return g == grad[0]; }));
  EXPECT_NE(grad[0], 0);
  EXPECT_NE(FirstGradient(*MakeWorkload(spec, 0, 4, true)), grad);
  EXPECT_EQ(w->Evaluate(params).accuracy, -1);
  for (uint64_t bytes : {0, 6}) {
    spec.synthetic_bytes = bytes;
    EXPECT_THAT(MakeError(spec, false), HasSubstr("multiple of 4"));
  }
}

TEST(MakeWorkloadTest, UnknownKindListsTheValidOnes) {
  EXPECT_THAT(MakeError(SpecWithBatch("resnet", 4), true),
              HasSubstr("softmax, mlp, linreg, synthetic"));
}

TEST(MakeWorkloadTest, MissingDataSaysWhatToInstall) {
  WorkloadSpec spec = SpecWithBatch("softmax", 4);
  spec.data_dir = "/nonexistent/fashion";
  const std::string error = MakeError(spec, true);
  EXPECT_THAT(error, HasSubstr(kInstallHint));
  EXPECT_THAT(error, HasSubstr("--data-dir"));
  EXPECT_THAT(error, HasSubstr("/nonexistent/fashion/train-images-idx3-ubyte"));
  EXPECT_EQ(MakeError(spec, false), "no error");
}

TEST(MakeWorkloadTest, MalformedDataNamesTheFile) {
  TempDir dir;
  const std::vector<uint8_t> images = MakeIdx(0x803, {2, 28, 28}, std::vector<uint8_t>(2 * 784));
  for (const char* split : {"train", "t10k"}) {
    WriteFile(dir.File(std::string(split) + "-images-idx3-ubyte"), images, false);
    WriteFile(dir.File(std::string(split) + "-labels-idx1-ubyte.gz"),
              MakeIdx(0x801, {3}, {1, 2, 3}), true);
  }
  WorkloadSpec spec = SpecWithBatch("softmax", 4);
  spec.data_dir = dir.File("");
  const std::string error = MakeError(spec, true);
  EXPECT_THAT(error, HasSubstr("train-labels-idx1-ubyte.gz"));
  EXPECT_THAT(error, HasSubstr("3 labels for 2 images"));
}

}  // namespace
}  // namespace gw
