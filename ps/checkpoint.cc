#include "ps/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <boost/crc.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

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

class Reader {
 public:
  explicit Reader(const std::vector<uint8_t>& bytes) : bytes_(bytes) {}
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

// This rank's checkpoint files in dir, newest (highest iteration) first.
std::vector<std::pair<uint64_t, std::string>> List(const std::string& dir, uint32_t rank) {
  std::vector<std::pair<uint64_t, std::string>> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  const std::string prefix = "server-" + std::to_string(rank) + "-";
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (!name.starts_with(prefix) || !name.ends_with(".ckpt")) continue;
    const std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - 5);
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit)) continue;
    out.emplace_back(std::stoull(digits), e.path().string());
  }
  std::sort(out.begin(), out.end(), std::greater<>());
  return out;
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
    fs::remove(files[i].second, ec);
  }
  // Left by a crash between staging and renaming (never read: only *.ckpt are).
  const std::string prefix = "server-" + std::to_string(c.server_rank) + "-";
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.starts_with(prefix) && name.ends_with(".ckpt.tmp")) fs::remove(e.path(), ec);
  }
  return path;
}

Checkpoint ReadCheckpoint(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error("cannot open checkpoint " + path);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)),
                                   std::istreambuf_iterator<char>());
  const auto bad = [&](const std::string& why) {
    return Error("checkpoint " + path + " is unusable: " + why);
  };
  if (bytes.size() < kHeaderBytes) {
    throw bad("truncated (" + std::to_string(bytes.size()) + " bytes, shorter than its header)");
  }
  if (std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    throw bad("not a gradwire checkpoint (bad magic)");
  }
  Reader r(bytes);
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
  if (h.payload_bytes != bytes.size() - kHeaderBytes) {
    throw bad(bytes.size() - kHeaderBytes < h.payload_bytes
                  ? "truncated (" + std::to_string(bytes.size()) + " bytes, the header says " +
                        std::to_string(kHeaderBytes + h.payload_bytes) + ")"
                  : "longer than its header says (" + std::to_string(bytes.size()) + " bytes)");
  }
  // Overflow-safe: each count is bounded by the payload before they are combined.
  const uint64_t p = h.payload_bytes;
  if (h.job_bytes > p || h.num_params > p / sizeof(float) ||
      h.velocity_floats > p / sizeof(float) ||
      h.job_bytes + (h.num_params + h.velocity_floats) * sizeof(float) != p) {
    throw bad("its section sizes do not add up to its payload (corrupt header)");
  }
  const std::vector<uint8_t> payload(bytes.begin() + kHeaderBytes, bytes.end());
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
  for (const auto& [iteration, path] : files) {
    Checkpoint c;
    try {
      c = ReadCheckpoint(path);
    } catch (const Error& e) {
      out.skipped.push_back(e.what());
      continue;
    }
    CheckCheckpointOwner(c, owner, path);
    out.checkpoint = std::move(c);
    out.path = path;
    return out;
  }
  std::string why;
  for (const auto& s : out.skipped) why += "; " + s;
  throw Error("no usable checkpoint of server " + std::to_string(owner.server_rank) + " in " + dir +
              why);
}

}  // namespace gw
