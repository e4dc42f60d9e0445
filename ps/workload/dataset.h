// An in-memory labelled data set for the classifier workloads.
#pragma once

#include <Eigen/Core>

namespace gw {

using RowMatrixXf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct Dataset {
  RowMatrixXf x;      // one sample per row
  Eigen::VectorXi y;  // class labels, 0 <= y(i) < number of classes
};

}  // namespace gw
