// The sizes of a coded job's rounds, agreed by the server and every worker.
//
// A coded job runs in rounds driven by the server: it writes the round's input into every
// idle worker's input region, each worker writes its messages (one or more, each its own
// write into its own part of its slot region, tagged with the round), and the server closes
// the round as soon as the scheme can decode (coding/scheme.h). Gradient schemes take one
// round per iteration (input: the parameters; output: the gradient). MDS takes two (Lee et
// al.'s gradient descent for linear regression): round 2t computes A·x from coded row blocks
// of A, round 2t+1 computes Aᵀ·r from coded row blocks of Aᵀ, with r = A·x − y formed by the
// server.
#pragma once

#include <cstddef>
#include <cstdint>

#include "coding/scheme.h"
#include "ps/job.h"

namespace gw {

struct CodedShape {
  coding::CodingSpec spec;
  int n = 0;  // workers
  // The scheme computes matrix-vector products (coding::Computes::kMatrixVectorProducts):
  // two rounds per iteration on the linreg workload's A, k = spec.Blocks(n) data blocks.
  bool mds = false;
  size_t d = 0;            // parameters
  size_t m = 0;            // mds: rows of A (linreg_rows)
  size_t rows_a = 0;       // mds: rows of a coded block of A, ceil(m / k)
  size_t rows_at = 0;      // mds: rows of a coded block of Aᵀ, ceil(d / k)
  size_t part_floats = 0;  // inputs and messages travel in writes of at most this many floats

  // Checks the job: coding needs exactly one server (decoding needs every message in one
  // place), mds needs the linreg workload, the scheme must fit the worker count, and the
  // round's writes must fit the immediate's part field. Throws gw::Error saying which.
  static CodedShape Make(const JobConfig& job, size_t num_params);
  // The checks of Make that need no model size (flags use it to refuse a job up front).
  static void Check(const JobConfig& job);

  int rounds_per_iteration() const { return mds ? 2 : 1; }
  int phase(uint64_t round) const { return mds ? static_cast<int>(round % 2) : 0; }
  size_t input_floats(int phase) const { return phase == 0 ? d : m; }
  size_t max_input_floats() const { return mds && m > d ? m : d; }
  size_t message_floats(int phase) const;
  size_t max_message_floats() const;
  // Writes needed for `floats` floats, and the part index of message j's p-th write.
  uint32_t parts(size_t floats) const {
    return static_cast<uint32_t>((floats + part_floats - 1) / part_floats);
  }
  uint32_t parts_per_message() const { return parts(max_message_floats()); }
  uint32_t PartId(int j, uint32_t p) const {
    return static_cast<uint32_t>(j) * parts_per_message() + p;
  }
};

}  // namespace gw
