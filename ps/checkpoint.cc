#include "ps/checkpoint.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <boost/crc.hpp>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "base/error.h"

namespace gw {
namespace {

namespace fs = std::filesystem;

static_assert(std::endian::native == std::endian::little, "checkpoints are little-endian");

constexpr char kMagic[8] = {'G', 'W', 'C', 'K', 'P', 'T', '\r', '\n'};
constexpr uint32_t kFormatVersion = 1;

// The fixed header, field by field (no struct padding in the file).
struct Header {
  uint32_t version = kFormatVersion;
  uint32_t header_bytes = 0;
  uint64_t payload_bytes = 0;
  uint32_t crc = 0;  // CRC-32 of the header (this field zero) and the payload
  uint32_t server_rank = 0;
  uint64_t fingerprint = 0;
  uint64_t iteration = 0;
  uint64_t optimizer_steps = 0;
  uint64_t shard_begin = 0;
  uint64_t num_params = 0;
  uint64_t velocity_floats = 0;
  uint64_t job_bytes = 0;
};

constexpr uint32_t kHeaderBytes = sizeof(kMagic) + 4 + 4 + 8 + 4 + 4 + 8 * 7;
// JobConfig::Describe() is a few hundred bytes; a header claiming more is not one of ours.
constexpr uint64_t kMaxJobBytes = 64 * 1024;

class Writer {
 public:
  Writer() : bytes_(kHeaderBytes) { std::memcpy(bytes_.data(), kMagic, sizeof(kMagic)); }
  template <typename T>
  void Put(const T& v) {
    std::memcpy(bytes_.data() + pos_, &v, sizeof(T));
    pos_ += sizeof(T);
  }
  std::vector<uint8_t> Take() { return std::move(bytes_); }

 private:
  std::vector<uint8_t> bytes_;
  size_t pos_ = sizeof(kMagic);
};

std::vector<uint8_t> EncodeHeader(const Header& h) {
  Writer w;
  w.Put(h.version);
  w.Put(h.header_bytes);
  w.Put(h.payload_bytes);
  w.Put(h.crc);
  w.Put(h.server_rank);
  w.Put(h.fingerprint);
  w.Put(h.iteration);
  w.Put(h.optimizer_steps);
  w.Put(h.shard_begin);
  w.Put(h.num_params);
  w.Put(h.velocity_floats);
  w.Put(h.job_bytes);
  return w.Take();
}

class HeaderReader {
 public:
  explicit HeaderReader(const std::vector<uint8_t>& bytes) : bytes_(bytes) {}
  template <typename T>
  T Get() {
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

 private:
  const std::vector<uint8_t>& bytes_;
  size_t pos_ = sizeof(kMagic);
};

uint32_t Crc(const std::vector<uint8_t>& header, const std::vector<uint8_t>& payload) {
  boost::crc_32_type crc;
  crc.process_bytes(header.data(), header.size());
  crc.process_bytes(payload.data(), payload.size());
  return crc.checksum();
}

std::string Errno(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

void WriteAll(int fd, const std::vector<uint8_t>& bytes, const std::string& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(Errno("cannot write checkpoint", path));
    done += static_cast<size_t>(n);
  }
}

void FsyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw Error(Errno("cannot open checkpoint directory", dir));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw Error(Errno("cannot fsync checkpoint directory", dir));
}

// One of this rank's checkpoint files in dir, by name; `refused` says why it cannot be one
// (a name whose iteration does not fit 64 bits).
struct Listed {
  uint64_t iteration = 0;
  std::string path;
  std::string refused;
};

// This rank's checkpoint files in dir: refused names first (so a resume always reports
// them), then newest (highest iteration) first.
std::vector<Listed> List(const std::string& dir, uint32_t rank) {
  std::vector<Listed> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  const std::string prefix = "server-" + std::to_string(rank) + "-";
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (!name.starts_with(prefix) || !name.ends_with(".ckpt")) continue;
    const std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - 5);
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit)) continue;
    Listed l{0, e.path().string(), ""};
    const auto [end, err] =
        std::from_chars(digits.data(), digits.data() + digits.size(), l.iteration);
    if (err != std::errc() || end != digits.data() + digits.size()) {
      l.refused = "checkpoint " + l.path + " is unusable: its name's iteration is out of range";
    }
    out.push_back(std::move(l));
  }
  std::sort(out.begin(), out.end(), [](const Listed& a, const Listed& b) {
    if (a.refused.empty() != b.refused.empty()) return !a.refused.empty();
    return a.iteration > b.iteration;
  });
  return out;
}

// Reads exactly out.size() bytes at offset, or says how many it got.
void ReadAt(int fd, std::vector<uint8_t>& out, uint64_t offset, const std::string& path) {
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n =
        ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(Errno("cannot read checkpoint", path));
    if (n == 0) {
      throw Error("checkpoint " + path + " is unusable: it shrank while being read");
    }
    done += static_cast<size_t>(n);
  }
}

// The first non-finite value of v, as "name I is X", or "".
std::string FirstNonFinite(const std::vector<float>& v, const char* name) {
  const auto it = std::find_if(v.begin(), v.end(), [](float x) { return !std::isfinite(x); });
  if (it == v.end()) return "";
  return std::string(name) + " " + std::to_string(it - v.begin()) + " is " + std::to_string(*it);
}

}  // namespace

std::string CheckpointPath(const std::string& dir, uint32_t rank, uint64_t iteration) {
  char digits[24];
  std::snprintf(digits, sizeof digits, "%012llu", static_cast<unsigned long long>(iteration));
  return dir + "/server-" + std::to_string(rank) + "-" + digits + ".ckpt";
}

std::string StageCheckpoint(const std::string& dir, const Checkpoint& c) {
  std::vector<uint8_t> payload(c.job.begin(), c.job.end());
  const auto floats = [&](const std::vector<float>& v) {
    const auto* p = reinterpret_cast<const uint8_t*>(v.data());
    payload.insert(payload.end(), p, p + v.size() * sizeof(float));
  };
  floats(c.params);
  floats(c.velocity);
  Header h;
  h.header_bytes = kHeaderBytes;
  h.payload_bytes = payload.size();
  h.server_rank = c.server_rank;
  h.fingerprint = c.fingerprint;
  h.iteration = c.iteration;
  h.optimizer_steps = c.optimizer_steps;
  h.shard_begin = c.shard_begin;
  h.num_params = c.params.size();
  h.velocity_floats = c.velocity.size();
  h.job_bytes = c.job.size();
  h.crc = Crc(EncodeHeader(h), payload);
  const std::vector<uint8_t> header = EncodeHeader(h);

  std::error_code ec;
  fs::create_directories(dir, ec);
  const std::string tmp = CheckpointPath(dir, c.server_rank, c.iteration) + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(Errno("cannot create checkpoint", tmp) + " (check --checkpoint-dir)");
  try {
    WriteAll(fd, header, tmp);
    WriteAll(fd, payload, tmp);
    if (::fsync(fd) != 0) throw Error(Errno("cannot fsync checkpoint", tmp));
  } catch (const Error&) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  ::close(fd);
  return tmp;
}

void CommitCheckpoint(const std::string& tmp_path) {
  const std::string final_path = tmp_path.substr(0, tmp_path.size() - 4);  // drop ".tmp"
  if (std::rename(tmp_path.c_str(), final_path.c_str()) != 0) {
    throw Error(Errno("cannot rename checkpoint into place:", tmp_path));
  }
  FsyncDir(fs::path(final_path).parent_path().string());
}

std::string SaveCheckpoint(const std::string& dir, const Checkpoint& c, int keep, uint64_t* bytes) {
  const std::string tmp = StageCheckpoint(dir, c);
  CommitCheckpoint(tmp);
  const std::string path = tmp.substr(0, tmp.size() - 4);
  std::error_code ec;
  if (bytes) *bytes = fs::file_size(path, ec);
  const auto files = List(dir, c.server_rank);
  for (size_t i = static_cast<size_t>(std::max(keep, 1)); i < files.size(); ++i) {
    if (files[i].refused.empty()) fs::remove(files[i].path, ec);
  }
  // Left by a crash between staging and renaming (never read: only *.ckpt are).
  const std::string prefix = "server-" + std::to_string(c.server_rank) + "-";
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.starts_with(prefix) && name.ends_with(".ckpt.tmp")) fs::remove(e.path(), ec);
  }
  return path;
}

Checkpoint ReadCheckpoint(const std::string& path, uint64_t max_floats) {
  const auto bad = [&](const std::string& why) {
    return Error("checkpoint " + path + " is unusable: " + why);
  };
  // O_NONBLOCK: opening a FIFO must not wait for a writer (fstat then refuses it).
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw Error(Errno("cannot open checkpoint", path));
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw Error(Errno("cannot stat checkpoint", path));
  // A FIFO would hang the read, a link to /dev/zero would never end it.
  if (!S_ISREG(st.st_mode)) throw bad("not a regular file");
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size < kHeaderBytes) {
    throw bad("truncated (" + std::to_string(size) + " bytes, shorter than its header)");
  }
  std::vector<uint8_t> header(kHeaderBytes);
  ReadAt(fd, header, 0, path);
  if (std::memcmp(header.data(), kMagic, sizeof(kMagic)) != 0) {
    throw bad("not a gradwire checkpoint (bad magic)");
  }
  HeaderReader r(header);
  Header h;
  h.version = r.Get<uint32_t>();
  h.header_bytes = r.Get<uint32_t>();
  h.payload_bytes = r.Get<uint64_t>();
  h.crc = r.Get<uint32_t>();
  h.server_rank = r.Get<uint32_t>();
  h.fingerprint = r.Get<uint64_t>();
  h.iteration = r.Get<uint64_t>();
  h.optimizer_steps = r.Get<uint64_t>();
  h.shard_begin = r.Get<uint64_t>();
  h.num_params = r.Get<uint64_t>();
  h.velocity_floats = r.Get<uint64_t>();
  h.job_bytes = r.Get<uint64_t>();
  if (h.version != kFormatVersion) {
    throw bad("format version " + std::to_string(h.version) + ", this gradwire reads version " +
              std::to_string(kFormatVersion));
  }
  if (h.header_bytes != kHeaderBytes) throw bad("header size differs from format version 1's");
  if (h.payload_bytes != size - kHeaderBytes) {
    throw bad(size - kHeaderBytes < h.payload_bytes
                  ? "truncated (" + std::to_string(size) + " bytes, the header says " +
                        std::to_string(kHeaderBytes + h.payload_bytes) + ")"
                  : "longer than its header says (" + std::to_string(size) + " bytes)");
  }
  // Overflow-safe: each count is bounded by the payload before they are combined.
  const uint64_t p = h.payload_bytes;
  if (h.job_bytes > p || h.num_params > p / sizeof(float) ||
      h.velocity_floats > p / sizeof(float) ||
      h.job_bytes + (h.num_params + h.velocity_floats) * sizeof(float) != p) {
    throw bad("its section sizes do not add up to its payload (corrupt header)");
  }
  if (h.job_bytes > kMaxJobBytes) {
    throw bad("a job description of " + std::to_string(h.job_bytes) + " bytes (at most " +
              std::to_string(kMaxJobBytes) + ")");
  }
  // Before the payload is read: a file of another shard layout is not read whole.
  if (h.num_params > max_floats || h.velocity_floats > max_floats) {
    throw bad("another shard layout (it holds " + std::to_string(h.num_params) +
              " parameters, this server's shard " + std::to_string(max_floats) + ")");
  }
  std::vector<uint8_t> payload(p);
  ReadAt(fd, payload, kHeaderBytes, path);
  Header zeroed = h;
  zeroed.crc = 0;
  if (Crc(EncodeHeader(zeroed), payload) != h.crc) {
    throw bad("checksum mismatch (the file is corrupt)");
  }
  Checkpoint c;
  c.fingerprint = h.fingerprint;
  c.server_rank = h.server_rank;
  c.shard_begin = h.shard_begin;
  c.iteration = h.iteration;
  c.optimizer_steps = h.optimizer_steps;
  c.job.assign(payload.begin(), payload.begin() + static_cast<ptrdiff_t>(h.job_bytes));
  c.params.resize(h.num_params);
  c.velocity.resize(h.velocity_floats);
  const uint8_t* at = payload.data() + h.job_bytes;
  std::memcpy(c.params.data(), at, c.params.size() * sizeof(float));
  at += c.params.size() * sizeof(float);
  std::memcpy(c.velocity.data(), at, c.velocity.size() * sizeof(float));
  // A valid checksum says nothing of where the values came from: the server never writes a
  // non-finite model, so one holding NaN or Inf was forged (or corrupted before its CRC).
  for (const auto& why :
       {FirstNonFinite(c.params, "parameter"), FirstNonFinite(c.velocity, "velocity value")}) {
    if (!why.empty()) throw bad(why + " (a non-finite model)");
  }
  return c;
}

void CheckCheckpointOwner(const Checkpoint& c, const CheckpointOwner& owner,
                          const std::string& path) {
  const std::string head = "checkpoint " + path + " belongs to ";
  if (c.fingerprint != owner.fingerprint) {
    throw Error(head + "a different job configuration; it was written by: " + c.job +
                "; this server runs: " + owner.job +
                " (resume with the same flags, or use another --checkpoint-dir)");
  }
  if (c.server_rank != owner.server_rank) {
    throw Error(head + "server " + std::to_string(c.server_rank) + ", not server " +
                std::to_string(owner.server_rank));
  }
  if (c.shard_begin != owner.shard_begin || c.params.size() != owner.shard_size ||
      c.velocity.size() != owner.shard_size) {
    throw Error(head + "another shard layout (" + std::to_string(c.params.size()) +
                " parameters from " + std::to_string(c.shard_begin) + ", this server has " +
                std::to_string(owner.shard_size) + " from " + std::to_string(owner.shard_begin) +
                ")");
  }
}

std::optional<LoadedCheckpoint> LoadNewestCheckpoint(const std::string& dir,
                                                     const CheckpointOwner& owner) {
  const auto files = List(dir, owner.server_rank);
  if (files.empty()) return std::nullopt;
  LoadedCheckpoint out;
  for (const Listed& file : files) {
    if (!file.refused.empty()) {
      out.skipped.push_back(file.refused);
      continue;
    }
    Checkpoint c;
    try {
      c = ReadCheckpoint(file.path, owner.shard_size);
      const std::string head = "checkpoint " + file.path + " is unusable: ";
      if (c.iteration != file.iteration) {
        throw Error(head + "its name says iteration " + std::to_string(file.iteration) +
                    ", its header " + std::to_string(c.iteration));
      }
      if (c.iteration > owner.max_iteration || c.optimizer_steps > owner.max_iteration) {
        throw Error(head + "iteration " + std::to_string(c.iteration) + " (optimizer step " +
                    std::to_string(c.optimizer_steps) + ") is beyond this job's " +
                    std::to_string(owner.max_iteration) + " iterations");
      }
    } catch (const Error& e) {
      out.skipped.push_back(e.what());
      continue;
    }
    CheckCheckpointOwner(c, owner, file.path);
    out.checkpoint = std::move(c);
    out.path = file.path;
    return out;
  }
  std::string why;
  for (const auto& s : out.skipped) why += "; " + s;
  throw Error("no usable checkpoint of server " + std::to_string(owner.server_rank) + " in " + dir +
              why);
}

}  // namespace gw
