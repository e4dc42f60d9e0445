// The model zoo: real DNN architectures as a parameter server sees them (model_spec.h), by
// name. Models are built once, on first use, and live for the whole process.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ps/workload/zoo/model_spec.h"

namespace gw::zoo {

// The model registered as `name` ("resnet50"), or nullptr: callers refuse an unknown name
// with UnknownModelMessage.
const ModelSpec* FindModel(std::string_view name);

// Every registered name, in the registry's order.
std::vector<std::string_view> ModelNames();

// "unknown model 'NAME' (known: resnet18, resnet50, ...)": one line, for any caller's error.
std::string UnknownModelMessage(std::string_view name);

}  // namespace gw::zoo
