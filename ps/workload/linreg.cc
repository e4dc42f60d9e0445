// Linear regression: loss = mean over rows of 0.5 * (a . x - y)^2.
#include "ps/workload/linreg.h"

#include <algorithm>
#include <optional>
#include <random>

#include "base/error.h"
#include "ps/workload/models.h"
#include "ps/workload/partition.h"

namespace gw {
namespace {

// Mean 0.5 * squared residual of rows a against targets y; if grad is given, it gets the
// gradient a^T r / rows.
double LeastSquares(const RowMatrixXf& a, const Eigen::VectorXf& y, const float* x, float* grad) {
  const Eigen::Map<const Eigen::VectorXf> xv(x, a.cols());
  const Eigen::VectorXf r = a * xv - y;
  const auto n = static_cast<float>(a.rows());
  if (grad != nullptr) {
    Eigen::Map<Eigen::VectorXf>(grad, a.cols()).noalias() = a.transpose() * r / n;
  }
  return 0.5 * double{r.squaredNorm()} / n;
}

class Linreg final : public Workload {
 public:
  Linreg(const WorkloadSpec& spec, uint32_t rank, uint32_t num_workers, bool load_data)
      : dims_(spec.linreg_dims) {
    if (!load_data) return;
    problem_ = MakeLinregProblem(spec);
    batches_.emplace(PartitionRows(spec.linreg_rows, spec.seed, rank, num_workers), spec.batch_size,
                     spec.seed, rank);
  }

  std::string name() const override { return "linreg"; }
  size_t num_params() const override { return dims_; }
  void InitParams(std::span<float> params) const override {
    std::fill(params.begin(), params.end(), 0.0f);
  }

  double ComputeGradient(std::span<const float> params, std::span<float> grad) override {
    CheckCall(params);
    if (grad.size() != dims_) throw Error("linreg: grad size differs from num_params()");
    const std::span<const uint32_t> rows = batches_->Next();
    return LeastSquares(problem_->a(rows, Eigen::all), problem_->y(rows), params.data(),
                        grad.data());
  }

  void SeekBatch(uint64_t index) override {
    if (!batches_) throw Error("linreg: workload built without data");
    batches_->Seek(index);
  }

  EvalResult Evaluate(std::span<const float> params) const override {
    CheckCall(params);
    return {LeastSquares(problem_->a, problem_->y, params.data(), nullptr), -1};
  }

  void SetBatchSize(size_t rows) override {
    if (!batches_) throw Error("linreg: workload built without data");
    batches_->SetBatchSize(rows);
  }
  size_t batches_per_epoch() const override {
    if (!batches_) throw Error("linreg: workload built without data");
    return batches_->batches_per_epoch();
  }

 private:
  void CheckCall(std::span<const float> params) const {
    if (!batches_) throw Error("linreg: workload built without data");
    if (params.size() != dims_) throw Error("linreg: params size differs from num_params()");
  }

  size_t dims_;
  std::optional<LinregProblem> problem_;
  std::optional<BatchCycler> batches_;
};

}  // namespace

LinregProblem MakeLinregProblem(const WorkloadSpec& spec) {
  if (spec.linreg_rows == 0 || spec.linreg_dims == 0) {
    throw Error("linreg: linreg_rows and linreg_dims must be positive");
  }
  std::mt19937_64 rng(spec.seed);
  std::normal_distribution<float> normal;
  auto draw = [&] { return normal(rng); };
  LinregProblem p;
  p.a.resize(spec.linreg_rows, spec.linreg_dims);
  std::generate_n(p.a.data(), p.a.size(), draw);  // row-major order
  p.x_star.resize(spec.linreg_dims);
  std::generate_n(p.x_star.data(), p.x_star.size(), draw);
  Eigen::VectorXf noise(spec.linreg_rows);
  std::generate_n(noise.data(), noise.size(), draw);
  p.y = p.a * p.x_star + static_cast<float>(spec.linreg_noise) * noise;
  return p;
}

std::unique_ptr<Workload> MakeLinreg(const WorkloadSpec& spec, uint32_t rank, uint32_t num_workers,
                                     bool load_data) {
  return std::make_unique<Linreg>(spec, rank, num_workers, load_data);
}

}  // namespace gw
