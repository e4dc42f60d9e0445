// CreateDevice's factories: a backend outside gw_net (the simulated one, net/sim) registers
// its own; without it, asking for that kind says where it exists instead of crashing.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "base/error.h"
#include "net/device.h"

namespace gw {
namespace {

int g_made = 0;

std::unique_ptr<Device> CountingFactory(const DeviceOptions&) {
  ++g_made;
  return nullptr;
}

TEST(DeviceFactory, TheSimulatedTransportOutsideASimulationIsAClearError) {
  try {
    CreateDevice(TransportKind::kSim, DeviceOptions{});
    FAIL() << "a simulated device outside gradwire sim";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gradwire sim"), std::string::npos) << e.what();
  }
}

TEST(DeviceFactory, ARegisteredFactoryMakesItsKindUntilUnregistered) {
  g_made = 0;
  RegisterDeviceFactory(TransportKind::kSim, &CountingFactory);
  EXPECT_EQ(CreateDevice(TransportKind::kSim, DeviceOptions{}), nullptr);
  EXPECT_EQ(g_made, 1);
  RegisterDeviceFactory(TransportKind::kSim, nullptr);
  EXPECT_THROW(CreateDevice(TransportKind::kSim, DeviceOptions{}), Error);
  EXPECT_EQ(g_made, 1);
}

TEST(DeviceFactory, PhantomPayloadsStayRefusedOutsideTheSimulatedKindWhateverIsRegistered) {
  g_made = 0;
  RegisterDeviceFactory(TransportKind::kTcp, &CountingFactory);
  DeviceOptions phantom;
  phantom.phantom_payloads = true;
  EXPECT_THROW(CreateDevice(TransportKind::kTcp, phantom), Error);
  EXPECT_EQ(g_made, 0);
  EXPECT_EQ(CreateDevice(TransportKind::kTcp, DeviceOptions{}), nullptr);
  EXPECT_EQ(g_made, 1);
  RegisterDeviceFactory(TransportKind::kTcp, nullptr);
}

}  // namespace
}  // namespace gw
