#include "net/device.h"

#include "base/error.h"
#include "net/rdma/device.h"
#include "net/tcp/device.h"
#ifdef GW_HAVE_SIMGRID
#include "net/sim/device.h"
#endif

namespace gw {

std::string WriteOutOfBounds(size_t bytes, const RemoteRegion& dst, uint64_t offset) {
  if (offset <= dst.length && bytes <= dst.length - offset) return "";
  return "write of " + std::to_string(bytes) + " bytes at offset " + std::to_string(offset) +
         " exceeds remote region " + std::to_string(dst.id) + " of " + std::to_string(dst.length) +
         " bytes";
}

std::unique_ptr<Device> CreateDevice(TransportKind kind, const DeviceOptions& options) {
  if (options.phantom_payloads && kind != TransportKind::kSim) {
    throw Error("phantom payloads (writes without bytes) exist only in simulation (gradwire sim)");
  }
  switch (kind) {
    case TransportKind::kTcp:
      return std::make_unique<tcp::TcpDevice>(options);
    case TransportKind::kRdma:
      return std::make_unique<rdma::RdmaDevice>(options);
    case TransportKind::kSim:
#ifdef GW_HAVE_SIMGRID
      return std::make_unique<sim::SimDevice>(options);
#else
      throw Error(
          "this gradwire was built without SimGrid: `make deps` installs libsimgrid-dev, then "
          "rebuild");
#endif
  }
  throw Error("unknown transport");
}

}  // namespace gw
