#include "ps/coded_shape.h"

#include <algorithm>

#include "base/error.h"
#include "coding/scheme_registry.h"
#include "ps/imm.h"

namespace gw {

void CodedShape::Check(const JobConfig& job) {
  if (!job.coding) throw Error("internal: CodedShape for a job without coding");
  job.coding->Validate(static_cast<int>(job.num_workers));
  if (job.num_servers != 1) {
    throw Error(
        "--coding needs exactly one server (--num-servers 1): the server decodes from "
        "whole messages; this job has " +
        std::to_string(job.num_servers));
  }
  if (job.coding->scheme().computes() == coding::Computes::kMatrixVectorProducts &&
      job.workload.kind != "linreg") {
    std::string gradient_schemes;
    for (const coding::CodingScheme* s : coding::CodingSchemes()) {
      if (s->computes() != coding::Computes::kGradients) continue;
      gradient_schemes += (gradient_schemes.empty() ? "" : ", ") + std::string(s->name());
    }
    throw Error("--coding " + job.coding->ToString() +
                " codes matrix-vector products: it needs --workload linreg (gradient "
                "schemes: " +
                gradient_schemes + " work with any workload)");
  }
}

CodedShape CodedShape::Make(const JobConfig& job, size_t num_params) {
  Check(job);
  CodedShape s;
  s.spec = *job.coding;
  s.n = static_cast<int>(job.num_workers);
  s.d = num_params;
  s.mds = s.spec.scheme().computes() == coding::Computes::kMatrixVectorProducts;
  if (s.mds) {
    const auto k = static_cast<size_t>(s.spec.Blocks(s.n));
    s.m = job.workload.linreg_rows;
    s.rows_a = (s.m + k - 1) / k;
    s.rows_at = (s.d + k - 1) / k;
  }
  s.part_floats = std::max<size_t>(1, job.part_bytes / sizeof(float));
  const uint64_t message_parts = static_cast<uint64_t>(s.spec.Messages()) * s.parts_per_message();
  const uint64_t input_parts = s.parts(s.max_input_floats());
  if (std::max(message_parts, input_parts) > Imm::kMaxParts) {
    throw Error("a round needs " + std::to_string(std::max(message_parts, input_parts)) +
                " writes per worker, more than the immediate can number (" +
                std::to_string(Imm::kMaxParts) + "): raise --part-bytes");
  }
  return s;
}

size_t CodedShape::message_floats(int phase) const {
  if (!mds) return d;
  return phase == 0 ? rows_a : rows_at;
}

size_t CodedShape::max_message_floats() const { return mds ? std::max(rows_a, rows_at) : d; }

}  // namespace gw
