// Reading and writing a policy's keys in a window spec text (sched/window_spec.h): the number
// parsers and formatter every policy uses, and the ring keys round-robin and topology share.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/spec_text.h"
#include "sched/window_spec.h"

namespace gw::sched {

// Throws the gw::Error of a refused spec text: it quotes the text, says why and lists the
// forms of every registered policy.
[[noreturn]] void BadWindowSpec(std::string_view text, const std::string& why);

// The key=value items of one spec text, as a policy takes them; WindowSpec::Parse refuses
// any left untaken.
class SpecKeys {
 public:
  SpecKeys(std::string_view text, SpecText* items) : text_(text), items_(items) {}

  [[noreturn]] void Bad(const std::string& why) const { BadWindowSpec(text_, why); }
  bool has(const std::string& key) const { return items_->has(key); }
  std::string_view Take(const std::string& key);  // refuses a missing key
  double TakeDouble(const std::string& key);      // finite
  uint32_t TakeUint32(const std::string& key);
  uint32_t ParseUint32(const std::string& key, std::string_view value) const;
  double ParseDouble(const std::string& key, std::string_view value) const;  // finite

 private:
  std::string_view text_;
  SpecText* items_;
};

// Throws gw::Error unless 0 < ms <= WindowSpec::kMaxMs.
void CheckPositiveMs(const char* key, double ms);

// The ring keys (warmup, factor, window, min-window): absent ones keep their defaults.
void TakeRingKeys(SpecKeys& keys, WindowSpec* s);
std::string RingKeysToString(const WindowSpec& s);  // every key written
void CheckRingFields(const WindowSpec& s);          // throws gw::Error

// The rack keys (racks=R or rack-of=R+R+..): refuses both; takes neither if absent (topology
// requires one: its CheckFields says so).
void TakeRackKeys(SpecKeys& keys, WindowSpec* s);
std::string RackKeysToString(const WindowSpec& s);  // "racks=R", "rack-of=..", or "" if none
// Checks the racks against n workers; throws gw::Error(what + why).
void CheckRackWorkers(const WindowSpec& s, uint32_t n, const std::string& what);

}  // namespace gw::sched
