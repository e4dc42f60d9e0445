// The synthetic least-squares problem of the linreg workload (the coded-computation papers'
// case), exposed so other code (e.g. coded matrix multiplication) can rebuild the same data.
#pragma once

#include "ps/workload/dataset.h"
#include "ps/workload/workload.h"

namespace gw {

struct LinregProblem {
  RowMatrixXf a;           // linreg_rows x linreg_dims, entries N(0, 1)
  Eigen::VectorXf x_star;  // linreg_dims, entries N(0, 1)
  Eigen::VectorXf y;       // a * x_star + linreg_noise * N(0, 1)
};

// Deterministic in spec.seed: the same problem on every process. Throws gw::Error on zero
// rows or dims.
LinregProblem MakeLinregProblem(const WorkloadSpec& spec);

}  // namespace gw
