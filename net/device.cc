#include "net/device.h"

#include <array>
#include <atomic>

#include "base/error.h"
#include "net/rdma/device.h"
#include "net/tcp/device.h"

namespace gw {

std::string WriteOutOfBounds(size_t bytes, const RemoteRegion& dst, uint64_t offset) {
  if (offset <= dst.length && bytes <= dst.length - offset) return "";
  return "write of " + std::to_string(bytes) + " bytes at offset " + std::to_string(offset) +
         " exceeds remote region " + std::to_string(dst.id) + " of " + std::to_string(dst.length) +
         " bytes";
}

namespace {

constexpr size_t kTransportKinds = 3;
static_assert(static_cast<size_t>(TransportKind::kSim) + 1 == kTransportKinds,
              "one factory slot per transport kind");

std::array<std::atomic<DeviceFactory>, kTransportKinds>& Factories() {
  static std::array<std::atomic<DeviceFactory>, kTransportKinds> factories{};
  return factories;
}

}  // namespace

void RegisterDeviceFactory(TransportKind kind, DeviceFactory factory) {
  Factories().at(static_cast<size_t>(kind)).store(factory, std::memory_order_release);
}

std::unique_ptr<Device> CreateDevice(TransportKind kind, const DeviceOptions& options) {
  if (options.phantom_payloads && kind != TransportKind::kSim) {
    throw Error("phantom payloads (writes without bytes) exist only in simulation (gradwire sim)");
  }
  if (const DeviceFactory registered =
          Factories().at(static_cast<size_t>(kind)).load(std::memory_order_acquire)) {
    return registered(options);
  }
  switch (kind) {
    case TransportKind::kTcp:
      return std::make_unique<tcp::TcpDevice>(options);
    case TransportKind::kRdma:
      return std::make_unique<rdma::RdmaDevice>(options);
    case TransportKind::kSim:
      throw Error(
          "the simulated transport runs only inside a SimGrid simulation (gradwire sim), "
          "not in this process");
  }
  throw Error("unknown transport");
}

}  // namespace gw
