#include "net/device.h"

#include "base/error.h"
#include "net/rdma/device.h"
#include "net/tcp/device.h"
#ifdef GW_HAVE_SIMGRID
#include "net/sim/device.h"
#endif

namespace gw {

std::unique_ptr<Device> CreateDevice(TransportKind kind, const DeviceOptions& options) {
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
