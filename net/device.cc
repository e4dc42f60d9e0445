#include "net/device.h"

#include "net/error.h"
#include "net/tcp/device.h"

namespace gw {

std::unique_ptr<Device> CreateDevice(TransportKind kind, const DeviceOptions& options) {
  switch (kind) {
    case TransportKind::kTcp:
      return std::make_unique<tcp::TcpDevice>(options);
    case TransportKind::kRdma:
      throw Error("the rdma transport is not built into this gradwire yet; use tcp://host:port");
  }
  throw Error("unknown transport");
}

}  // namespace gw
