#include "ps/job.h"

#include <algorithm>
#include <sstream>

namespace gw {

std::string JobConfig::Describe() const {
  std::ostringstream os;
  os.precision(17);  // every bit of a float flag counts in the fingerprint
  os << "workload=" << workload.kind << " batch=" << workload.batch_size
     << " seed=" << workload.seed << " workers=" << num_workers << " servers=" << num_servers
     << " sync=" << sync.ToString() << " iterations=" << iterations << " part_bytes=" << part_bytes
     << " lr=" << optimizer.lr.base_lr << " lr_schedule=" << optimizer.lr.ToString()
     << " momentum=" << optimizer.momentum << " weight_decay=" << optimizer.weight_decay;
  if (workload.kind == "mlp") os << " hidden=" << workload.mlp_hidden;
  if (workload.kind == "linreg") {
    os << " rows=" << workload.linreg_rows << " dims=" << workload.linreg_dims
       << " noise=" << workload.linreg_noise;
  }
  if (coding) os << " coding=" << coding->ToString();
  if (windows) os << " windows=" << windows->ToString();
  if (batch_tuning) os << " batch_tuning=1";
  if (straggler.kind() != coding::StragglerKind::kNone) os << " straggler=" << straggler.ToString();
  if (workload.kind == "synthetic") os << " grad_bytes=" << workload.synthetic_bytes;
  return os.str();
}

size_t JobConfig::PartFloats(size_t num_params) const {
  const size_t per_server = (num_params + num_servers - 1) / num_servers;
  return std::max<size_t>(1, std::min<size_t>(part_bytes / sizeof(float), per_server));
}

uint64_t JobConfig::Fingerprint() const {
  // FNV-1a over the canonical description: stable across processes and hosts.
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : Describe()) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace gw
