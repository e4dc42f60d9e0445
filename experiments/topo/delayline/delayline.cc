// gw_delayline: a constant one-way delay for packets sent to NFQUEUE, without netem.
//
// Usage: gw_delayline [--rt-prio N] QUEUE:DELAY_US [QUEUE:DELAY_US ...]
//   e.g. ip netns exec gwsrv gw_delayline 1:5000 2:5000 &
//        ip netns exec gwsrv iptables -t raw -A PREROUTING -s 10.77.0.1 -j NFQUEUE --queue-num 1
//
// Each packet queued to QUEUE is released (NF_ACCEPT) DELAY_US microseconds after it reached
// this process. The queues run in COPY_META mode (only metadata crosses to user space; the skb
// stays in the kernel) with the F_GSO flag (GSO skbs are not segmented for us) and a large
// queue_maxlen. The delay is constant per queue, so the due times of one queue are in arrival
// order: a FIFO ring of (packet id, due time) per queue is enough, and every packet that is due
// is released with one batch verdict (all ids <= the last due id). Waiting is ppoll with a
// nanosecond timeout and timer slack of 1 ns. On a busy machine an ordinary process wakes up
// late (milliseconds behind other runnable tasks on 2 cores), so it runs SCHED_FIFO (priority 10
// by default; --rt-prio 0 keeps SCHED_OTHER). It only ever sleeps in ppoll, and the kernel's RT
// throttling still bounds it.
//
// Put the queue at the RECEIVER's ingress (raw PREROUTING), never at the sender's OUTPUT: there
// the skb still belongs to its socket and TCP Small Queues would throttle the sender.
//
// Prints "gw_delayline: ready ..." on stdout once every queue is bound. SIGTERM/SIGINT: releases
// what is still held, unbinds and exits 0 with a one-line summary on stderr. SIGUSR1 prints the
// summary without exiting. Exit 1 on setup errors (no permission, queue busy), 2 on bad usage.
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

extern "C" {
#include <libnetfilter_queue/libnetfilter_queue.h>
}

namespace {

constexpr uint32_t kQueueMaxLen = 200000;      // kernel-side packets per queue
constexpr size_t kRingSize = size_t{1} << 18;  // 262144 >= kQueueMaxLen, power of two
constexpr int kRcvBuf = 32 << 20;              // netlink socket receive buffer (bytes)

volatile sig_atomic_t g_stop = 0;
volatile sig_atomic_t g_stats = 0;

int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

struct Held {
  uint32_t id;
  int64_t due_ns;
};

struct Queue {
  uint16_t num = 0;
  int64_t delay_ns = 0;
  nfq_q_handle* qh = nullptr;
  std::vector<Held> ring;  // FIFO: [head, tail) modulo kRingSize
  size_t head = 0, tail = 0;
  uint64_t packets = 0, overflow = 0, verdict_errors = 0, max_held = 0;

  size_t held() const { return tail - head; }
  bool empty() const { return head == tail; }
  const Held& front() const { return ring[head & (kRingSize - 1)]; }
};

void usage(FILE* f) {
  std::fprintf(f,
               "usage: gw_delayline [--rt-prio N] QUEUE:DELAY_US [QUEUE:DELAY_US ...]\n"
               "  Holds every packet of NFQUEUE number QUEUE for DELAY_US microseconds, then\n"
               "  accepts it. Run as root in the namespace whose raw PREROUTING sends packets to\n"
               "  the queue (iptables -t raw -A PREROUTING ... -j NFQUEUE --queue-num QUEUE).\n"
               "  --rt-prio N: SCHED_FIFO priority (default 10; 0 = SCHED_OTHER).\n"
               "  SIGTERM: release held packets and exit 0. SIGUSR1: print counters.\n");
}

bool parse_spec(const char* s, uint16_t* num, int64_t* delay_us) {
  char* end = nullptr;
  errno = 0;
  unsigned long q = std::strtoul(s, &end, 10);
  if (errno || end == s || *end != ':' || q > 65535) return false;
  const char* d = end + 1;
  errno = 0;
  long long us = std::strtoll(d, &end, 10);
  if (errno || end == d || *end != '\0' || us < 0 || us > 60LL * 1000 * 1000) return false;
  *num = static_cast<uint16_t>(q);
  *delay_us = us;
  return true;
}

int on_packet(nfq_q_handle* /*qh*/, nfgenmsg* /*msg*/, nfq_data* nfa, void* data) {
  auto* q = static_cast<Queue*>(data);
  nfqnl_msg_packet_hdr* ph = nfq_get_msg_packet_hdr(nfa);
  if (!ph) return 0;
  const uint32_t id = ntohl(ph->packet_id);
  ++q->packets;
  if (q->held() >= kRingSize) {  // cannot happen while kRingSize >= queue_maxlen; fail open
    ++q->overflow;
    if (nfq_set_verdict(q->qh, id, NF_ACCEPT, 0, nullptr) < 0) ++q->verdict_errors;
    return 0;
  }
  q->ring[q->tail & (kRingSize - 1)] = Held{id, now_ns() + q->delay_ns};
  ++q->tail;
  if (q->held() > q->max_held) q->max_held = q->held();
  return 0;
}

// Accepts every held packet due at or before `t` (all of them when t is INT64_MAX) with one
// batch verdict per queue. Returns the earliest due time still held, or INT64_MAX.
int64_t release(std::vector<Queue>& queues, int64_t t) {
  int64_t next = INT64_MAX;
  for (Queue& q : queues) {
    bool any = false;
    uint32_t last = 0;
    while (!q.empty() && q.front().due_ns <= t) {
      last = q.front().id;
      any = true;
      ++q.head;
    }
    if (any && nfq_set_verdict_batch(q.qh, last, NF_ACCEPT) < 0) ++q.verdict_errors;
    if (!q.empty() && q.front().due_ns < next) next = q.front().due_ns;
  }
  return next;
}

void print_stats(const std::vector<Queue>& queues, uint64_t enobufs) {
  std::string line = "gw_delayline:";
  for (const Queue& q : queues) {
    char buf[200];
    std::snprintf(buf, sizeof buf, " q%u(%lldus) pkts=%llu held=%zu max_held=%llu", q.num,
                  static_cast<long long>(q.delay_ns / 1000),
                  static_cast<unsigned long long>(q.packets), q.held(),
                  static_cast<unsigned long long>(q.max_held));
    line += buf;
    if (q.overflow || q.verdict_errors) {
      std::snprintf(buf, sizeof buf, " overflow=%llu verdict_errors=%llu",
                    static_cast<unsigned long long>(q.overflow),
                    static_cast<unsigned long long>(q.verdict_errors));
      line += buf;
    }
  }
  if (enobufs) line += " enobufs=" + std::to_string(enobufs) + " (kernel dropped packets)";
  std::fprintf(stderr, "%s\n", line.c_str());
}

void on_signal(int sig) {
  if (sig == SIGUSR1)
    g_stats = 1;
  else
    g_stop = 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  std::vector<Queue> queues;
  int rt_prio = 10;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "-h") || !std::strcmp(argv[i], "--help")) {
      usage(stdout);
      return 0;
    }
    if (!std::strcmp(argv[i], "--rt-prio")) {
      char* end = nullptr;
      const long p = i + 1 < argc ? std::strtol(argv[i + 1], &end, 10) : -1;
      if (i + 1 >= argc || *end != '\0' || p < 0 || p > 99) {
        std::fprintf(stderr, "gw_delayline: --rt-prio wants 0..99\n");
        return 2;
      }
      rt_prio = static_cast<int>(p);
      ++i;
      continue;
    }
    Queue q;
    int64_t us = 0;
    if (!parse_spec(argv[i], &q.num, &us)) {
      std::fprintf(stderr, "gw_delayline: bad argument '%s' (want QUEUE:DELAY_US, e.g. 1:5000)\n",
                   argv[i]);
      return 2;
    }
    for (const Queue& o : queues)
      if (o.num == q.num) {
        std::fprintf(stderr, "gw_delayline: queue %u given twice\n", q.num);
        return 2;
      }
    q.delay_ns = us * 1000;
    queues.push_back(std::move(q));
  }
  if (queues.empty()) {
    usage(stderr);
    return 2;
  }
  for (Queue& q : queues) q.ring.resize(kRingSize);

  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  if (rt_prio > 0) {
    sched_param sp{};
    sp.sched_priority = rt_prio;
    if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0)
      std::fprintf(stderr,
                   "gw_delayline: warning: cannot run SCHED_FIFO %d (%s); delays may run late "
                   "on a busy machine\n",
                   rt_prio, std::strerror(errno));
  }

  // Signals are blocked except while waiting in ppoll, so a SIGTERM is never lost between the
  // check of g_stop and the wait.
  sigset_t block, wait_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGHUP);
  sigaddset(&block, SIGUSR1);
  sigprocmask(SIG_BLOCK, &block, &wait_mask);
  sigdelset(&wait_mask, SIGTERM);
  sigdelset(&wait_mask, SIGINT);
  sigdelset(&wait_mask, SIGHUP);
  sigdelset(&wait_mask, SIGUSR1);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) sigaction(s, &sa, nullptr);

  nfq_handle* h = nfq_open();
  if (!h) {
    std::fprintf(stderr, "gw_delayline: cannot open the nfnetlink queue socket: %s%s\n",
                 std::strerror(errno),
                 errno == EPERM ? " (needs root / CAP_NET_ADMIN in this namespace)" : "");
    return 1;
  }
  // Binding the family needs CAP_NET_ADMIN (recent kernels ignore it otherwise), so when it
  // succeeds, EPERM from binding a queue means the queue belongs to another process.
  if (nfq_bind_pf(h, AF_INET) < 0 && errno == EPERM) {
    std::fprintf(stderr, "gw_delayline: permission denied (needs root / CAP_NET_ADMIN)\n");
    nfq_close(h);
    return 1;
  }
  for (Queue& q : queues) {
    errno = 0;
    q.qh = nfq_create_queue(h, q.num, &on_packet, &q);
    if (!q.qh) {
      const int e = errno;
      const char* why = e == EPERM || e == EBUSY
                            ? " (queue busy: another process in this namespace is bound to it)"
                            : "";
      std::fprintf(stderr, "gw_delayline: cannot bind queue %u: %s%s\n", q.num,
                   e ? std::strerror(e) : "unknown error", why);
      for (Queue& o : queues)
        if (o.qh) nfq_destroy_queue(o.qh);
      nfq_close(h);
      return 1;
    }
    if (nfq_set_mode(q.qh, NFQNL_COPY_META, 0) < 0) {
      std::fprintf(stderr, "gw_delayline: queue %u: cannot set COPY_META mode: %s\n", q.num,
                   std::strerror(errno));
      return 1;
    }
    if (nfq_set_queue_maxlen(q.qh, kQueueMaxLen) < 0)
      std::fprintf(stderr, "gw_delayline: queue %u: cannot set queue_maxlen: %s\n", q.num,
                   std::strerror(errno));
    if (nfq_set_queue_flags(q.qh, NFQA_CFG_F_GSO, NFQA_CFG_F_GSO) < 0)
      std::fprintf(stderr,
                   "gw_delayline: queue %u: kernel refused F_GSO (GSO skbs get segmented): %s\n",
                   q.num, std::strerror(errno));
  }

  const int fd = nfq_fd(h);
  // A large receive buffer (forced: we are root) and no ENOBUFS errors on overrun: the kernel
  // drops what it cannot deliver; we count it if it is reported anyway.
  int rcvbuf = kRcvBuf;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  int one = 1;
  setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);

  {
    std::string line = "gw_delayline: ready";
    for (const Queue& q : queues)
      line += " " + std::to_string(q.num) + ":" + std::to_string(q.delay_ns / 1000) + "us";
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  }

  std::vector<char> buf(1 << 16);
  uint64_t enobufs = 0;
  int rc = 0;
  while (!g_stop) {
    if (g_stats) {
      g_stats = 0;
      print_stats(queues, enobufs);
    }
    const int64_t next = release(queues, now_ns());
    timespec ts, *tsp = nullptr;
    if (next != INT64_MAX) {
      int64_t wait = next - now_ns();
      if (wait < 0) wait = 0;
      ts.tv_sec = wait / 1000000000;
      ts.tv_nsec = wait % 1000000000;
      tsp = &ts;
    }
    pollfd p{fd, POLLIN, 0};
    const int n = ppoll(&p, 1, tsp, &wait_mask);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "gw_delayline: ppoll: %s\n", std::strerror(errno));
      rc = 1;
      break;
    }
    if (n == 0) continue;
    // Drain what is there, but come back to release due packets at least every 256 messages.
    for (int i = 0; i < 256; ++i) {
      const ssize_t len = recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
      if (len < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
        if (errno == ENOBUFS) {
          ++enobufs;
          continue;
        }
        std::fprintf(stderr, "gw_delayline: recv: %s\n", std::strerror(errno));
        rc = 1;
        g_stop = 1;
        break;
      }
      if (len == 0) break;
      nfq_handle_packet(h, buf.data(), static_cast<int>(len));
    }
  }

  release(queues, INT64_MAX);  // let whatever is still held through rather than drop it
  print_stats(queues, enobufs);
  for (Queue& q : queues) nfq_destroy_queue(q.qh);
  nfq_close(h);
  return rc;
}
