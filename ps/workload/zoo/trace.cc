#include "ps/workload/zoo/trace.h"

#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string_view>

namespace gw::zoo {
namespace {

// The columns a trace must have, in the order TraceParser::index_ holds them.
enum TraceColumn { kLayer, kParams, kForwardMs, kBackwardMs, kColumns };
constexpr std::array<std::string_view, kColumns> kColumnNames = {"layer", "params", "forward_ms",
                                                                 "backward_ms"};
constexpr std::string_view kExpectedHeader = "layer,params,forward_ms,backward_ms";
constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
// How much of a refused field an error quotes: enough to recognise it, one line at most.
constexpr size_t kQuotedFieldChars = 32;

struct Field {
  std::string text;
  size_t column = 0;  // 1-based field index
};

// Why a line is refused; the parser adds the file and line.
using Refusal = std::string;

std::string_view Trim(std::string_view s) {
  const size_t first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

// A field as an error quotes it: shortened, control bytes shown as '?'.
std::string Quoted(std::string_view text) {
  std::string out = "\"";
  for (const char c : text.substr(0, kQuotedFieldChars)) {
    out += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c;
  }
  return out + (text.size() > kQuotedFieldChars ? "...\"" : "\"");
}

// Splits one line as Python's csv module writes it: fields separated by ',', a field in
// double quotes may hold ',' and '""' (a quote); spaces around an unquoted field are dropped.
std::optional<Refusal> SplitFields(std::string_view line, std::vector<Field>& fields) {
  fields.clear();
  size_t i = 0;
  while (true) {
    Field f{"", fields.size() + 1};
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i < line.size() && line[i] == '"') {
      ++i;
      while (true) {
        if (i >= line.size()) {
          return Refusal{"column " + std::to_string(f.column) + ": a quote is not closed"};
        }
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            f.text += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        f.text += line[i++];
      }
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      if (i < line.size() && line[i] != ',') {
        return Refusal{"column " + std::to_string(f.column) + ": text after a closing quote"};
      }
    } else {
      const size_t end = std::min(line.find(',', i), line.size());
      f.text = std::string(Trim(line.substr(i, end - i)));
      i = end;
    }
    fields.push_back(std::move(f));
    if (i >= line.size()) return std::nullopt;
    ++i;  // the ','
  }
}

std::string About(const Field& f, TraceColumn c) {
  return "column " + std::to_string(f.column) + " (" + std::string(kColumnNames[c]) + "): ";
}

std::optional<Refusal> ParseParams(const Field& f, uint64_t& out) {
  const std::string& t = f.text;
  if (t.empty()) return Refusal{About(f, kParams) + "empty"};
  if (t[0] == '-') return Refusal{About(f, kParams) + Quoted(t) + " is negative"};
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
  if (end != t.data() + t.size() || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    return Refusal{About(f, kParams) + Quoted(t) + " is not a whole number"};
  }
  if (ec == std::errc::result_out_of_range || out > kMaxTraceLayerParams) {
    return Refusal{About(f, kParams) + Quoted(t) +
                   " is more than 2^40 parameters (4 TiB of fp32 in one layer)"};
  }
  if (out == 0) {
    return Refusal{About(f, kParams) +
                   "0: a layer without parameters sends no gradient (give its time to a "
                   "neighbour)"};
  }
  return std::nullopt;
}

std::optional<Refusal> ParseMs(const Field& f, TraceColumn c, double& out) {
  const std::string& t = f.text;
  if (t.empty()) return Refusal{About(f, c) + "empty"};
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
  if (end != t.data() + t.size() || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    return Refusal{About(f, c) + Quoted(t) + " is not a number"};
  }
  if (ec == std::errc::result_out_of_range) {
    return Refusal{About(f, c) + Quoted(t) + " is out of a double's range"};
  }
  if (std::isnan(out) || std::isinf(out)) {
    return Refusal{About(f, c) + Quoted(t) + " is not a finite number"};
  }
  if (out < 0) return Refusal{About(f, c) + Quoted(t) + " is negative"};
  if (out > kMaxTraceLayerMs) {
    return Refusal{About(f, c) + Quoted(t) + " ms is more than an hour (seconds for ms?)"};
  }
  return std::nullopt;
}

// Reads traces line by line with bounded memory: no line is held beyond its limit.
class TraceParser {
 public:
  TraceParser(std::istream& in, const std::string& file, TraceTimes times)
      : in_(in), file_(file), times_(times) {}

  TraceResult Run() {
    Trace trace;
    trace.source = file_;
    std::string line;
    while (true) {
      const auto read = ReadLine(line);
      if (read == kEnd) break;
      if (read == kTooLong) {
        return Fail(line_no_, "longer than " + std::to_string(kMaxTraceLineBytes) +
                                  " bytes: not a trace row");
      }
      const std::string_view text = Trim(line);
      if (text.empty() || text[0] == '#') continue;
      if (const auto refused = SplitFields(line, fields_)) return Fail(line_no_, *refused);
      const auto refused = header_line_ == 0 ? Header() : Row(trace);
      if (refused) return Fail(line_no_, *refused);
    }
    if (header_line_ == 0) {
      return Fail(0, "empty: no header line (expected " + std::string(kExpectedHeader) + ")");
    }
    if (trace.layers.empty()) {
      return Fail(0, "no layers after the header (line " + std::to_string(header_line_) + ")");
    }
    return {std::move(trace), ""};
  }

 private:
  enum LineRead { kLine, kEnd, kTooLong };

  // The next line without its '\n' (and a '\r' before it), at most kMaxTraceLineBytes.
  LineRead ReadLine(std::string& line) {
    line.clear();
    std::streambuf* buf = in_.rdbuf();
    int c = buf->sbumpc();
    if (c == std::char_traits<char>::eof()) return kEnd;
    ++line_no_;
    while (c != std::char_traits<char>::eof() && c != '\n') {
      if (line.size() == kMaxTraceLineBytes + 1) return kTooLong;  // room for a final '\r'
      line.push_back(static_cast<char>(c));
      c = buf->sbumpc();
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // A UTF-8 byte order mark, as spreadsheets write one, before the first line.
    if (line_no_ == 1 && line.rfind(kByteOrderMark, 0) == 0) line.erase(0, kByteOrderMark.size());
    return line.size() > kMaxTraceLineBytes ? kTooLong : kLine;
  }

  std::optional<Refusal> Header() {
    std::map<std::string, size_t> seen;  // name -> 1-based column
    for (const Field& f : fields_) {
      const auto [it, fresh] = seen.emplace(f.text, f.column);
      if (!fresh) {
        return Refusal{"column " + std::to_string(f.column) + " (" + Quoted(f.text) +
                       ") repeats column " + std::to_string(it->second) + " of the header"};
      }
    }
    for (int c = 0; c < kColumns; ++c) {
      const auto it = seen.find(std::string(kColumnNames[c]));
      const bool is_time = c == kForwardMs || c == kBackwardMs;
      if (it == seen.end() && is_time && times_ == TraceTimes::kOptional) {
        index_[c] = kAbsent;
        continue;
      }
      if (it == seen.end()) {
        return Refusal{"the header has no column " + std::string(kColumnNames[c]) + " (expected " +
                       std::string(kExpectedHeader) + ", in any order, extra columns allowed)"};
      }
      index_[c] = it->second - 1;
    }
    header_line_ = line_no_;
    header_fields_ = fields_.size();
    return std::nullopt;
  }

  std::optional<Refusal> Row(Trace& trace) {
    if (fields_.size() != header_fields_) {
      return Refusal{std::to_string(fields_.size()) + " fields, the header (line " +
                     std::to_string(header_line_) + ") has " + std::to_string(header_fields_)};
    }
    if (trace.layers.size() == kMaxTraceLayers) {
      return Refusal{"more than " + std::to_string(kMaxTraceLayers) + " layers"};
    }
    const Field& name = fields_[index_[kLayer]];
    if (name.text == kColumnNames[kLayer] && fields_[index_[kParams]].text == "params") {
      return Refusal{"a second header (two traces in one file?)"};
    }
    if (name.text.empty()) return Refusal{About(name, kLayer) + "empty"};
    const auto [it, fresh] = layer_lines_.emplace(name.text, line_no_);
    if (!fresh) {
      return Refusal{About(name, kLayer) + Quoted(name.text) + " repeats line " +
                     std::to_string(it->second) + " (one iteration per trace)"};
    }
    TraceLayer layer;
    layer.name = name.text;
    if (auto r = ParseParams(fields_[index_[kParams]], layer.params)) return r;
    for (const auto& [c, ms] :
         {std::pair{kForwardMs, &layer.forward_ms}, std::pair{kBackwardMs, &layer.backward_ms}}) {
      if (index_[c] == kAbsent) continue;  // a tensor layout's time left out: 0
      if (auto r = ParseMs(fields_[index_[c]], c, *ms)) return r;
    }
    trace.layers.push_back(std::move(layer));
    return std::nullopt;
  }

  // "FILE:LINE: why" (line 0: about the whole file, "FILE: why").
  TraceResult Fail(size_t line, const std::string& why) const {
    return {std::nullopt, file_ + ":" + (line > 0 ? std::to_string(line) + ":" : "") + " " + why};
  }

  // index_ of a time column a tensor layout left out.
  static constexpr size_t kAbsent = SIZE_MAX;

  std::istream& in_;
  const std::string& file_;
  const TraceTimes times_;
  size_t line_no_ = 0;
  size_t header_line_ = 0;  // 0 until the header is read
  size_t header_fields_ = 0;
  std::array<size_t, kColumns> index_{};  // 0-based field of each column
  std::vector<Field> fields_;
  std::map<std::string, size_t> layer_lines_;  // layer name -> line, for repeats
};

}  // namespace

ModelSpec Trace::ToModel() const {
  ModelSpec model;
  model.name = "trace:" + source;
  model.description = "measured per-layer times from " + source;
  for (const TraceLayer& l : layers) model.layers.push_back({l.name, {{l.name, l.params}}, 0});
  return model;
}

TraceResult ParseTrace(std::istream& in, const std::string& file, TraceTimes times) {
  return TraceParser(in, file, times).Run();
}

TraceResult ReadTraceFile(const std::string& path, TraceTimes times) {
  // A directory opens (and reads as empty) on Linux: say what it is instead. A pipe or a
  // device could be read once at best (every server and worker reads the trace) or block
  // forever (a FIFO with no writer): only regular files are traces.
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::status(path, ec);
  if (std::filesystem::is_directory(status)) return {std::nullopt, path + ": a directory"};
  if (std::filesystem::exists(status) && !std::filesystem::is_regular_file(status)) {
    return {std::nullopt, path + ": not a regular file (every process reads the trace)"};
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return {std::nullopt, path + ": cannot open: " + std::strerror(errno)};
  return ParseTrace(in, path, times);
}

}  // namespace gw::zoo
