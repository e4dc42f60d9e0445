#include "sched/push_order_registry.h"

#include <algorithm>

#include "base/error.h"

namespace gw::sched {

// Each defined in its own file, sched/push_order_<name>.cc.
const PushOrderType& FifoOrder();
const PushOrderType& PriorityOrder();
const PushOrderType& CreditOrder();

std::span<const PushOrderType* const> PushOrders() {
  static const PushOrderType* const kOrders[] = {
      &FifoOrder(),
      &PriorityOrder(),
      &CreditOrder(),
  };
  return kOrders;
}

const PushOrderType* PushOrderNamed(std::string_view name) {
  const std::span<const PushOrderType* const> orders = PushOrders();
  const auto it = std::find_if(orders.begin(), orders.end(),
                               [&](const PushOrderType* o) { return o->name() == name; });
  return it == orders.end() ? nullptr : *it;
}

std::string PushOrderForms() {
  std::string forms;
  for (const PushOrderType* o : PushOrders()) {
    if (!forms.empty()) forms += " | ";
    forms += o->forms();
  }
  return forms;
}

std::unique_ptr<PushOrder> MakePushOrder(const PushOrderSpec& spec) {
  const PushOrderType* type = PushOrderNamed(spec.name);
  if (type == nullptr) {
    throw Error("unknown push order \"" + spec.name + "\" (known: " + PushOrderForms() + ")");
  }
  return type->Make(spec);
}

}  // namespace gw::sched
