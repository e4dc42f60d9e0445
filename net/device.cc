#include "net/device.h"

#include "base/error.h"
#include "net/rdma/device.h"
#include "net/tcp/device.h"

namespace gw {

std::unique_ptr<Device> CreateDevice(TransportKind kind, const DeviceOptions& options) {
  switch (kind) {
    case TransportKind::kTcp:
      return std::make_unique<tcp::TcpDevice>(options);
    case TransportKind::kRdma:
      return std::make_unique<rdma::RdmaDevice>(options);
  }
  throw Error("unknown transport");
}

}  // namespace gw
