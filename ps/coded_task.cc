#include "ps/coded_task.h"

#include <cmath>
#include <limits>

#include "coding/mds.h"
#include "base/error.h"
#include "ps/workload/linreg.h"

namespace gw {

coding::GradientCode MakeGradientCode(const CodedShape& shape, uint64_t seed) {
  if (shape.spec.kind == coding::CodingKind::kGcFractional) {
    return coding::GradientCode::FractionalRepetition(shape.n, shape.spec.param);
  }
  return coding::GradientCode::CyclicRepetition(shape.n, shape.spec.param, seed);
}

CodedTask::CodedTask(const JobConfig& job, const CodedShape& shape, uint32_t rank)
    : shape_(shape), rank_(static_cast<int>(rank)), blocks_(shape.spec.BlocksOf(rank_, shape.n)) {
  if (shape.mds) {
    // Every worker encodes the whole matrix and keeps its own coded block: encoding is a
    // one-off cost at start-up, and it keeps the data out of the network.
    const LinregProblem problem = MakeLinregProblem(job.workload);
    const coding::MdsCode code(shape.n, shape.spec.param, job.workload.seed);
    block_a_ = code.Encode(problem.a)[rank_];
    const Eigen::MatrixXf at = problem.a.transpose();
    block_at_ = code.Encode(at)[rank_];
    return;
  }
  const auto num_blocks = static_cast<uint32_t>(shape.spec.Blocks(shape.n));
  for (int b : blocks_) {
    workloads_.push_back(MakeWorkload(job.workload, static_cast<uint32_t>(b), num_blocks, true));
  }
  if (shape.spec.is_gradient_code()) {
    code_ = MakeGradientCode(shape, job.workload.seed);
    scratch_.resize(shape.d);
  }
}

double CodedTask::Compute(uint64_t round, int j, std::span<const float> input,
                          std::span<float> out) {
  const int phase = shape_.phase(round);
  if (input.size() != shape_.input_floats(phase) || out.size() != shape_.message_floats(phase)) {
    throw Error("coded task: input or message of the wrong size");
  }
  Eigen::Map<Eigen::VectorXf> result(out.data(), static_cast<Eigen::Index>(out.size()));
  if (shape_.mds) {
    const Eigen::Map<const Eigen::VectorXf> v(input.data(),
                                              static_cast<Eigen::Index>(input.size()));
    result.noalias() = phase == 0 ? block_a_ * v : block_at_ * v;
    return std::numeric_limits<double>::quiet_NaN();
  }
  const uint64_t iteration = round;  // gradient schemes: one round per iteration
  if (!code_) {
    Workload& w = *workloads_.at(static_cast<size_t>(j));
    w.SeekBatch(iteration);
    return w.ComputeGradient(input, out);
  }
  // Gradient code: Σ_b B(rank, b)·g_b over the worker's blocks.
  result.setZero();
  double loss = 0;
  Eigen::Map<const Eigen::VectorXf> g(scratch_.data(), static_cast<Eigen::Index>(scratch_.size()));
  for (size_t i = 0; i < blocks_.size(); ++i) {
    workloads_[i]->SeekBatch(iteration);
    loss += workloads_[i]->ComputeGradient(input, scratch_);
    result += static_cast<float>(code_->B()(rank_, blocks_[i])) * g;
  }
  return loss / static_cast<double>(blocks_.size());
}

}  // namespace gw
