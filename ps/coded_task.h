// A worker's computation in a coded job (ps/coded_shape.h): the messages it sends each round,
// computed from the round's input. Pure compute on data it builds at start-up.
//
//   gradient schemes   one workload per data block the worker holds (the job's data split
//                      into coding::CodingSpec::Blocks(n) partitions); every block's
//                      minibatch is chosen by the iteration, so replicas agree. Message j:
//                      the combination of its blocks' gradients the scheme's combiner names
//                      (one block's gradient for uncoded, replication, mm; the gradient-code
//                      combination for gc-fr, gc-cr).
//   mds                the worker's coded row block of A (for A·x) and of Aᵀ (for Aᵀ·r).
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "coding/coding_scheme.h"
#include "ps/coded_shape.h"
#include "ps/workload/dataset.h"
#include "ps/workload/workload.h"

namespace gw {

class CodedTask {
 public:
  CodedTask(const JobConfig& job, const CodedShape& shape, uint32_t rank);

  // Message j of `round` from the round's input (shape.input_floats(phase) floats) into out
  // (shape.message_floats(phase) floats). Returns the minibatch loss (mean over the blocks it
  // covers), or NaN where the worker cannot know it (mds).
  double Compute(uint64_t round, int j, std::span<const float> input, std::span<float> out);

 private:
  const CodedShape shape_;
  const int rank_;
  std::vector<int> blocks_;  // data blocks this worker holds, in computing order
  std::vector<std::unique_ptr<Workload>> workloads_;    // per block (gradient schemes)
  std::unique_ptr<coding::GradientCombiner> combiner_;  // gradient schemes
  std::vector<float> scratch_;      // one block's gradient, when a message combines several
  RowMatrixXf block_a_, block_at_;  // mds: coded row blocks of A and Aᵀ
};

}  // namespace gw
