#include "ps/coded_task.h"

#include <cmath>
#include <limits>

#include "base/error.h"
#include "coding/mds.h"
#include "ps/workload/linreg.h"

namespace gw {

CodedTask::CodedTask(const JobConfig& job, const CodedShape& shape, uint32_t rank)
    : shape_(shape), rank_(static_cast<int>(rank)), blocks_(shape.spec.BlocksOf(rank_, shape.n)) {
  if (shape.mds) {
    // Every worker encodes its own coded block from the whole matrix: a one-off cost at
    // start-up, and it keeps the data out of the network.
    const LinregProblem problem = MakeLinregProblem(job.workload);
    const auto code = coding::SharedMdsCode(shape.n, shape.spec.Blocks(shape.n), job.workload.seed);
    block_a_ = code->EncodeBlock(problem.a, rank_);
    const Eigen::MatrixXf at = problem.a.transpose();
    block_at_ = code->EncodeBlock(at, rank_);
    return;
  }
  const auto num_blocks = static_cast<uint32_t>(shape.spec.Blocks(shape.n));
  for (int b : blocks_) {
    workloads_.push_back(MakeWorkload(job.workload, static_cast<uint32_t>(b), num_blocks, true));
  }
  combiner_ = shape.spec.scheme().MakeCombiner(shape.spec.param, shape.n, job.workload.seed);
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
  const std::vector<coding::GradientCombiner::Term> terms = combiner_->Encoding(rank_, j, blocks_);
  if (terms.size() == 1 && terms[0].coef == 1.0f) {  // one block's gradient: straight into out
    Workload& w = *workloads_.at(terms[0].index);
    w.SeekBatch(iteration);
    return w.ComputeGradient(input, out);
  }
  // Σ coef·g over the terms' blocks, through one block's worth of scratch.
  scratch_.resize(shape_.d);
  result.setZero();
  double loss = 0;
  Eigen::Map<const Eigen::VectorXf> g(scratch_.data(), static_cast<Eigen::Index>(scratch_.size()));
  for (const auto& t : terms) {
    Workload& w = *workloads_.at(t.index);
    w.SeekBatch(iteration);
    loss += w.ComputeGradient(input, scratch_);
    result += t.coef * g;
  }
  return loss / static_cast<double>(terms.size());
}

}  // namespace gw
