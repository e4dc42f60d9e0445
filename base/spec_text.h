// Flag texts of the form "name" or "name:key=value,key=value,…" (straggler models, write-window
// policies): one splitter, so every such flag is read and refused the same way. Callers parse
// the values and say what is wrong with them through their own `bad` (which must throw).
#pragma once

#include <charconv>
#include <map>
#include <string>
#include <string_view>
#include <system_error>

namespace gw {

// The shortest text that reads back as exactly x ("0.1", not "0.10000000000000001"): how every
// float flag and spec value is written, so that descriptions compared between processes differ
// only where the values do.
inline std::string FormatNumber(double x) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), x);
  return std::string(buf, ec == std::errc() ? end : buf);
}

struct SpecText {
  std::string_view name;
  std::map<std::string, std::string_view> values;  // keys not taken yet

  // bad(why) for: nothing after ':', an item that is not key=value, a repeated key.
  template <typename Bad>
  static SpecText Split(std::string_view text, Bad bad) {
    SpecText s;
    const size_t colon = text.find(':');
    s.name = text.substr(0, colon);
    if (colon == std::string_view::npos) return s;
    std::string_view rest = text.substr(colon + 1);
    if (rest.empty()) bad("nothing after ':'");
    while (true) {
      const size_t comma = rest.find(',');
      const std::string_view item = rest.substr(0, comma);
      const size_t eq = item.find('=');
      if (eq == std::string_view::npos || eq == 0) {
        bad("\"" + std::string(item) + "\" is not key=value");
      }
      const std::string key(item.substr(0, eq));
      if (!s.values.emplace(key, item.substr(eq + 1)).second) bad("key " + key + " repeated");
      if (comma == std::string_view::npos) break;
      rest = rest.substr(comma + 1);
    }
    return s;
  }

  bool has(const std::string& key) const { return values.count(key) > 0; }

  // The value of key, removed from `values`; bad("missing key …") if absent.
  template <typename Bad>
  std::string_view Take(const std::string& key, Bad bad) {
    const auto it = values.find(key);
    if (it == values.end()) bad("missing key " + key);
    const std::string_view v = it->second;
    values.erase(it);
    return v;
  }
};

}  // namespace gw
