#include "sched/push_order_spec.h"

#include <charconv>
#include <cstdio>

#include "sched/push_order_registry.h"

namespace gw::sched {
namespace {

// One line whatever the input held: control bytes are written as \xNN.
std::string OneLine(std::string_view s) {
  std::string out;
  for (const char c : s) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      char hex[5];
      std::snprintf(hex, sizeof(hex), "\\x%02x", byte);
      out += hex;
    } else {
      out += c;
    }
  }
  return out;
}

PushOrderParse Refuse(std::string_view text, const std::string& why) {
  return {std::nullopt, OneLine(std::string(PushOrderSpec::kFlag) + " \"" + std::string(text) +
                                "\": " + why + " (expected " + PushOrderForms() + ")")};
}

// SpecText::Split reports through a callback that must not return; this carries its reason
// out of Split to ParsePushOrder, which turns it into the error it returns.
struct SplitRefused {
  std::string why;
};

}  // namespace

uint64_t PushOrderKeys::TakeUint(const std::string& key, uint64_t min, uint64_t max) {
  const auto it = items_->values.find(key);
  if (it == items_->values.end()) {
    Bad("missing key " + key);
    return min;
  }
  const std::string_view value = it->second;
  items_->values.erase(it);
  uint64_t v = 0;
  const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || p != value.data() + value.size() || value.empty() || v < min ||
      v > max) {
    Bad(key + " must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) +
        "], got \"" + std::string(value) + "\"");
    return min;
  }
  return v;
}

void PushOrderKeys::Bad(const std::string& why) {
  if (error_.empty()) error_ = why;
}

PushOrderParse ParsePushOrder(std::string_view text) {
  std::optional<SpecText> items;
  try {
    items = SpecText::Split(text, [](const std::string& why) { throw SplitRefused{why}; });
  } catch (const SplitRefused& refused) {
    return Refuse(text, refused.why);
  }
  const PushOrderType* type = PushOrderNamed(items->name);
  if (type == nullptr) return Refuse(text, "unknown order \"" + std::string(items->name) + "\"");
  PushOrderSpec s;
  s.name = type->name();
  PushOrderKeys keys(&*items);
  type->TakeKeys(keys, &s);
  if (!items->values.empty()) {
    keys.Bad("unknown key " + items->values.begin()->first + " for order " + s.name);
  }
  if (!keys.error().empty()) return Refuse(text, keys.error());
  return {s, ""};
}

std::string PushOrderSpec::ToString() const {
  const PushOrderType* type = PushOrderNamed(name);
  const std::string keys = type == nullptr ? "" : type->KeysToString(*this);
  return name + (keys.empty() ? "" : ":" + keys);
}

std::string PartitionBytesError(uint64_t partition_bytes, std::optional<uint64_t> model_bytes) {
  const std::string what = std::string(kPartitionBytesName) + " " + std::to_string(partition_bytes);
  if (partition_bytes > 0 && partition_bytes < kMinPartitionBytes) {
    return what + ": below " + std::to_string(kMinPartitionBytes) +
           " bytes each write's fixed cost dominates; use at least that, or 0 for whole tensors";
  }
  if (model_bytes && partition_bytes > *model_bytes) {
    return what + ": larger than the whole model (" + std::to_string(*model_bytes) +
           " bytes); use 0 for whole tensors";
  }
  return "";
}

}  // namespace gw::sched
