#include "ps/workload/fashion_mnist.h"

#include <filesystem>

#include "base/error.h"
#include "ps/workload/idx.h"

namespace gw {
namespace {

// dir/name.gz, else dir/name.
std::string FindFile(const std::string& dir, const std::string& name) {
  const std::filesystem::path base = std::filesystem::path(dir) / name;
  for (const std::filesystem::path& p : {std::filesystem::path(base.string() + ".gz"), base}) {
    if (std::filesystem::exists(p)) return p.string();
  }
  throw Error("Fashion-MNIST file missing: " + base.string() +
              "[.gz]; install it with: apt-get install dataset-fashion-mnist (or pass "
              "--data-dir DIR)");
}

std::shared_ptr<const Dataset> LoadSplit(const std::string& dir, const std::string& prefix) {
  const std::string images_path = FindFile(dir, prefix + "-images-idx3-ubyte");
  const std::string labels_path = FindFile(dir, prefix + "-labels-idx1-ubyte");
  const IdxArray images = ReadIdxFile(images_path);
  const IdxArray labels = ReadIdxFile(labels_path);
  if (images.dims.size() != 3 || size_t{images.dims[1]} * images.dims[2] != kFashionPixels) {
    throw Error(images_path + ": not an [n, 28, 28] image file");
  }
  if (labels.dims.size() != 1) throw Error(labels_path + ": not an [n] label file");
  if (labels.dims[0] != images.dims[0]) {
    throw Error(labels_path + ": " + std::to_string(labels.dims[0]) + " labels for " +
                std::to_string(images.dims[0]) + " images in " + images_path);
  }
  const Eigen::Index n = images.dims[0];
  auto data = std::make_shared<Dataset>();
  data->x =
      Eigen::Map<const Eigen::Matrix<uint8_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
          images.data.data(), n, kFashionPixels)
          .cast<float>() /
      255.0f;
  data->y = Eigen::Map<const Eigen::Matrix<uint8_t, Eigen::Dynamic, 1>>(labels.data.data(), n)
                .cast<int>();
  if (data->y.maxCoeff() >= kFashionClasses) {
    throw Error(labels_path + ": label " + std::to_string(data->y.maxCoeff()) +
                " out of range 0..9");
  }
  return data;
}

}  // namespace

FashionMnist LoadFashionMnist(const std::string& dir) {
  return {LoadSplit(dir, "train"), LoadSplit(dir, "t10k")};
}

}  // namespace gw
