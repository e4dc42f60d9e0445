// MakeWorkload: the workload kind named in the spec, with Fashion-MNIST for the classifiers.
#include "base/error.h"
#include "ps/workload/fashion_mnist.h"
#include "ps/workload/models.h"
#include "ps/workload/tensors.h"

namespace gw {

std::unique_ptr<Workload> MakeWorkload(const WorkloadSpec& spec, uint32_t rank,
                                       uint32_t num_workers, bool load_data) {
  if (spec.kind == "linreg") return MakeLinreg(spec, rank, num_workers, load_data);
  if (spec.kind == "synthetic") return MakeSynthetic(spec, rank);
  // No data to load: a server builds the same layers as the workers.
  if (spec.kind == "model" || spec.kind == "trace") return MakeLayeredModel(spec, rank);
  if (spec.kind == "tensors") return MakeTensors(spec);
  if (spec.kind != "softmax" && spec.kind != "mlp") {
    throw Error("unknown workload kind '" + spec.kind +
                "'; valid kinds: softmax, mlp, linreg, synthetic, model:NAME, trace:FILE, "
                "tensors:PREFIX");
  }
  FashionMnist fashion = load_data ? LoadFashionMnist(spec.data_dir) : FashionMnist{};
  ClassifierData data{kFashionPixels, kFashionClasses, std::move(fashion.train),
                      std::move(fashion.test)};
  return spec.kind == "softmax" ? MakeSoftmax(spec, std::move(data), rank, num_workers)
                                : MakeMlp(spec, std::move(data), rank, num_workers);
}

}  // namespace gw
