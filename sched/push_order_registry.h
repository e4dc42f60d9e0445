// Every push order the worker runs, in one explicit table (sched/push_order_registry.cc), in
// the order error messages list them. Explicit rather than self-registering statics: the orders
// live in a static library, whose unreferenced objects the linker drops.
//
// Adding an order: one file sched/push_order_<name>.cc implementing PushOrderType and
// PushOrder (sched/push_order_fifo.cc is the smallest), one line in the table (fields for new
// keys in sched/push_order_spec.h), an example in tests/sched_push_queue_test.cc.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "sched/push_order.h"

namespace gw::sched {

std::span<const PushOrderType* const> PushOrders();
// The order called `name`, or nullptr.
const PushOrderType* PushOrderNamed(std::string_view name);
// The text forms of every order: "fifo | priority[:inflight=N] | …".
std::string PushOrderForms();
// The order a parsed spec names; throws gw::Error for a name no order registered.
std::unique_ptr<PushOrder> MakePushOrder(const PushOrderSpec& spec);

}  // namespace gw::sched
