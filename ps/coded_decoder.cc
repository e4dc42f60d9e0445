#include "ps/coded_decoder.h"

#include "base/error.h"
#include "ps/workload/linreg.h"

namespace gw {

CodedDecoder::CodedDecoder(const JobConfig& job, const CodedShape& shape) : shape_(shape) {
  if (shape.mds) {
    mds_ = coding::SharedMdsCode(shape.n, shape.spec.Blocks(shape.n), job.workload.seed);
    y_ = MakeLinregProblem(job.workload).y;
    return;
  }
  combiner_ = shape.spec.scheme().MakeCombiner(shape.spec.param, shape.n, job.workload.seed);
}

coding::RoundTracker::DecodableCheck CodedDecoder::DecodableCheck() const {
  if (!mds_) return nullptr;
  // The check holds the code itself: a tracker may outlive the decoder that made it.
  return [code = mds_](const std::vector<coding::UsedMessage>& used) {
    std::vector<int> survivors;
    survivors.reserve(used.size());
    for (const auto& u : used) survivors.push_back(u.worker);
    return code->Decodable(survivors);
  };
}

void CodedDecoder::Decode(int phase, const std::vector<coding::RoundTracker::Used>& used,
                          const SlotReader& slot, std::span<float> out) const {
  const auto len = static_cast<Eigen::Index>(shape_.message_floats(phase));
  auto view = [&](int w, int j) {
    const std::span<const float> s = slot(w, j);
    return Eigen::Map<const Eigen::VectorXf>(s.data(), len);
  };
  Eigen::Map<Eigen::VectorXf> result(out.data(), static_cast<Eigen::Index>(out.size()));
  if (mds_) {
    std::vector<int> survivors;
    std::vector<Eigen::MatrixXf> results;
    for (const auto& u : used) {
      survivors.push_back(u.worker);
      results.emplace_back(view(u.worker, u.message));
    }
    const size_t rows = phase == 0 ? shape_.m : shape_.d;
    if (out.size() != rows) throw Error("coded decoder: output of the wrong size");
    result = mds_->Decode(survivors, results, static_cast<int64_t>(rows)).col(0);
    // Aᵀ·r is the gradient times m (the loss is a mean over the m rows).
    if (phase == 1) result /= static_cast<float>(shape_.m);
    return;
  }
  if (out.size() != shape_.d) throw Error("coded decoder: output of the wrong size");
  result.setZero();
  const std::vector<float> weights = combiner_->Decoding(used);
  for (size_t i = 0; i < used.size(); ++i) {
    result += weights[i] * view(used[i].worker, used[i].message);
  }
  // The mean over blocks: each block's gradient is a mean over its minibatch.
  result /= static_cast<float>(shape_.spec.Blocks(shape_.n));
}

double CodedDecoder::Residual(std::span<const float> ax, std::span<float> r) const {
  const Eigen::Map<const Eigen::VectorXf> axv(ax.data(), static_cast<Eigen::Index>(ax.size()));
  Eigen::Map<Eigen::VectorXf> rv(r.data(), static_cast<Eigen::Index>(r.size()));
  rv = axv - y_;
  return 0.5 * static_cast<double>(rv.squaredNorm()) / static_cast<double>(shape_.m);
}

}  // namespace gw
