// The server's arithmetic at the end of a coded round (ps/coded_shape.h): from the messages
// the round's tracker marked as used, the mean gradient (gradient schemes: the scheme's
// combiner weighs the messages), A·x (mds, even rounds) or the gradient Aᵀ·r / m (mds, odd
// rounds). Pure compute; decoding in double where the codes need it.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "coding/coding_scheme.h"
#include "coding/mds.h"
#include "coding/scheme.h"
#include "ps/coded_shape.h"

namespace gw {

class CodedDecoder {
 public:
  CodedDecoder(const JobConfig& job, const CodedShape& shape);

  // Worker w's message j as it landed in the server's slot (shape.message_floats(phase)).
  using SlotReader = std::function<std::span<const float>(int worker, int j)>;
  // Decodes round `phase`'s result into out (gradient: d floats; mds phase 0: m floats).
  // Throws gw::Error if the code refuses the survivor set (e.g. ill-conditioned).
  void Decode(int phase, const std::vector<coding::RoundTracker::Used>& used,
              const SlotReader& slot, std::span<float> out) const;
  // What the round tracker asks before it closes a round (coding/scheme.h): mds, whether
  // the survivors' system is well-conditioned enough for Decode; null for the other schemes,
  // whose every set of the needed size decodes.
  coding::RoundTracker::DecodableCheck DecodableCheck() const;
  // mds: r = A·x − y from A·x; returns the loss 0.5·|r|²/m (the linreg workload's).
  double Residual(std::span<const float> ax, std::span<float> r) const;

 private:
  CodedShape shape_;
  std::unique_ptr<coding::GradientCombiner> combiner_;  // gradient schemes
  std::shared_ptr<const coding::MdsCode> mds_;          // MDS rounds only
  Eigen::VectorXf y_;                                   // mds: targets
};

}  // namespace gw
