// TCP backend, control path: registered regions, listening, connecting, the handshake that
// authenticates a peer (job id, token, role, rank), and the I/O thread.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "base/rate_limited_log.h"
#include "net/device.h"

namespace gw::tcp {

class TcpConnection;

class TcpRegion : public Region {
 public:
  TcpRegion(uint32_t id, size_t bytes, PeerId writer);                 // owns its memory
  TcpRegion(uint32_t id, std::span<std::byte> memory, PeerId writer);  // caller's memory
  ~TcpRegion() override;
  TcpRegion(const TcpRegion&) = delete;
  TcpRegion& operator=(const TcpRegion&) = delete;

  uint32_t id() const override { return id_; }
  std::span<std::byte> bytes() override { return {data_, size_}; }
  PeerId writer() const override { return writer_; }
  RemoteRegion Describe() const override { return RemoteRegion{.id = id_, .length = size_}; }

 private:
  uint32_t id_;
  std::byte* data_;
  size_t size_;
  PeerId writer_;
  bool owned_;
};

class TcpDevice final : public Device, private IoDriver {
 public:
  // Waiting threads run the I/O: a 64 B control round trip on loopback takes 24 us so against
  // 33 us handed over by the I/O thread (tcp_latency_bench, results/bench).
  static constexpr bool kWaitRunsIoByDefault = true;

  explicit TcpDevice(const DeviceOptions& options);
  ~TcpDevice() override;

  Region& RegisterRegion(size_t bytes, PeerId writer) override;
  Region& RegisterMemory(std::span<std::byte> memory, PeerId writer) override;
  Region* FindRegion(uint32_t id) override;
  void Listen(const Address& addr) override;
  uint16_t bound_port() const override { return bound_port_; }
  std::shared_ptr<Connection> Connect(const Address& addr, PeerId expected) override;
  std::shared_ptr<Connection> Find(PeerId peer) override;
  CompletionQueue& cq() override { return cq_; }
  const DeviceOptions& options() const override { return options_; }
  void Shutdown() override;

  // Used by connections and the handshake (I/O thread).
  boost::asio::io_context& io() { return io_; }
  // Any thread: runs f on the I/O (a parked I/O thread is woken for it, CompletionQueue::
  // WakeParkedIo: it would otherwise run f only when it next looks, up to a millisecond late).
  template <typename F>
  void Post(F&& f) {
    boost::asio::post(io_, std::forward<F>(f));
    cq_.WakeParkedIo();
  }
  // Sets TCP_NODELAY and the congestion control on a socket (fd: its native handle). Throws.
  // Called before a connection exists (the connecting socket before its SYN, the listener
  // before its first accept: accepted sockets inherit it), never only after: a kernel whose
  // default is BBR starts BBR when a connection is established, and BBR turns on the socket's
  // own pacing for good; a later switch to CUBIC keeps that pacing at CUBIC's rate (cwnd /
  // srtt), and srtts inflated by delayed ACKs paced lone 1 MiB pushes at ~180 Mbit/s on the
  // 1 Gbit/s star (results/README.md, "Pipelined turns").
  void ConfigureSocket(int fd);
  std::shared_ptr<TcpConnection> Adopt(boost::asio::ip::tcp::socket socket, PeerId peer);
  void OnConnectionClosed(TcpConnection* connection);

 private:
  void Accept();
  // I/O thread: connects socket to results' endpoints from the index-th on, each attempt on a
  // socket configured before its SYN; done("") once connected, else done(why, refused).
  using ConnectDone = std::function<void(const std::string& error, bool refused)>;
  void ConnectFrom(std::shared_ptr<boost::asio::ip::tcp::socket> socket,
                   boost::asio::ip::tcp::resolver::results_type results, size_t index,
                   ConnectDone done);
  // IoDriver: a waiter on cq_ runs io_ while the I/O thread is parked in a posted handler.
  void AskIoToPark() override;
  bool RunIoOnce(std::chrono::steady_clock::time_point until) override;

  DeviceOptions options_;
  CompletionQueue cq_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::optional<boost::asio::ip::tcp::acceptor> acceptor_;
  // Waits between accepts that failed: out of descriptors, the next accept fails at once too.
  std::optional<boost::asio::steady_timer> accept_backoff_;
  uint16_t bound_port_ = 0;
  RateLimitedLog refusals_{"refusals"};  // accepted connections that failed their handshake

  std::mutex mu_;
  std::vector<std::unique_ptr<TcpRegion>> regions_;  // id = index
  std::map<std::pair<int, uint32_t>, std::shared_ptr<TcpConnection>> connections_;
  bool shut_down_ = false;

  std::thread io_thread_;  // last: started when everything above exists
};

}  // namespace gw::tcp
