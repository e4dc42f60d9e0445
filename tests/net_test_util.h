// Helpers shared by the transport tests: devices on loopback and waiting for completions.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "net/device.h"
#include "ps/roles.h"

namespace gw::testing {

inline DeviceOptions Options(PeerId self, std::string token = "secret") {
  DeviceOptions o;
  o.self = self;
  o.roles = PsRoles();
  o.job_id = "test-job";
  o.token = std::move(token);
  o.connect_timeout = std::chrono::milliseconds(3000);
  o.handshake_timeout = std::chrono::milliseconds(2000);
  return o;
}

// RDMA listens and connects on an address of an RDMA-capable netdev: the soft-RoCE harness
// (make test-rdma) exports it; "" when unset.
inline std::string RdmaTestAddress() {
  const char* a = std::getenv("GW_RDMA_TEST_ADDR");
  return a != nullptr ? a : "";
}

// Creates a device or sets *skip_reason when the backend cannot run on this host.
inline std::unique_ptr<Device> MakeDevice(TransportKind kind, const DeviceOptions& o,
                                          std::string* skip_reason) {
  if (kind == TransportKind::kRdma && RdmaTestAddress().empty()) {
    *skip_reason =
        "GW_RDMA_TEST_ADDR is unset: it names an address on an RDMA netdev (make test-rdma "
        "runs these tests in a soft-RoCE VM that sets it)";
    return nullptr;
  }
  try {
    return CreateDevice(kind, o);
  } catch (const Error& e) {
    *skip_reason = e.what();
    // With GW_RDMA_TEST_ADDR set (the soft-RoCE VM) RDMA must work: a case that cannot make
    // its device fails there instead of skipping as if it had passed.
    if (kind == TransportKind::kRdma)
      ADD_FAILURE() << "no RDMA device on " << RdmaTestAddress() << ": " << e.what();
    return nullptr;
  }
}

inline Address Loopback(TransportKind kind, uint16_t port) {
  Address a;
  a.transport = kind;
  a.host = kind == TransportKind::kRdma ? RdmaTestAddress() : "127.0.0.1";
  a.port = port;
  return a;
}

// Drains completions from cq until pred has accepted `count` of them or the timeout passes.
// Every completion seen is appended to *seen. Returns how many pred accepted.
inline size_t WaitFor(CompletionQueue& cq, const std::function<bool(const Completion&)>& pred,
                      size_t count, std::vector<Completion>* seen,
                      std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t hits = 0;
  std::vector<Completion> batch;
  while (hits < count && std::chrono::steady_clock::now() < deadline) {
    batch.clear();
    cq.Wait(batch, std::chrono::milliseconds(50));
    for (auto& c : batch) {
      if (pred(c)) ++hits;
      seen->push_back(std::move(c));
    }
  }
  return hits;
}

inline bool Is(const Completion& c, CompletionKind k) { return c.kind == k; }

// Takes control messages of `bytes` bytes numbered 0, 1, ... (little-endian in their first
// two bytes) from cq, letting each go at once (a held one keeps its charge on the receive
// budget), until `count` arrived or `timeout` passes; returns how many arrived in order (the
// first one out of order or of another size ends the count).
inline size_t TakeNumberedMessages(CompletionQueue& cq, size_t count, size_t bytes,
                                   std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t next = 0;
  std::vector<Completion> batch;
  while (next < count && std::chrono::steady_clock::now() < deadline) {
    batch.clear();
    cq.Wait(batch, std::chrono::milliseconds(50));
    for (const auto& c : batch) {
      if (!Is(c, CompletionKind::kControl)) continue;
      const size_t number = c.payload.size() < 2 ? 0 : (c.payload[0] | (c.payload[1] << 8));
      if (c.payload.size() != bytes || number != next) return next;
      ++next;
    }
  }
  return next;
}

}  // namespace gw::testing
