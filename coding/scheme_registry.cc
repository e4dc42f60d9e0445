#include "coding/scheme_registry.h"

#include <cctype>

#include "base/error.h"

namespace gw::coding {

// Each defined in its own file, coding/<name>_scheme.cc.
const CodingScheme& UncodedScheme();
const CodingScheme& ReplicationScheme();
const CodingScheme& GcFractionalScheme();
const CodingScheme& GcCyclicScheme();
const CodingScheme& MultiMessageScheme();
const CodingScheme& MdsScheme();

std::span<const CodingScheme* const> CodingSchemes() {
  static const CodingScheme* const kSchemes[] = {
      &UncodedScheme(),  &ReplicationScheme(),  &GcFractionalScheme(),
      &GcCyclicScheme(), &MultiMessageScheme(), &MdsScheme(),
  };
  return kSchemes;
}

const CodingScheme& SchemeOf(CodingKind kind) {
  for (const CodingScheme* s : CodingSchemes()) {
    if (s->kind() == kind) return *s;
  }
  throw Error("unknown coding kind " + std::to_string(static_cast<int>(kind)));
}

const CodingScheme* SchemeNamed(std::string_view name) {
  for (const CodingScheme* s : CodingSchemes()) {
    if (s->name() == name) return s;
  }
  return nullptr;
}

std::string SchemeForms() {
  std::string forms;
  for (const CodingScheme* s : CodingSchemes()) {
    if (!forms.empty()) forms += " | ";
    forms += s->name();
    if (s->key().empty()) continue;
    // "r=R": the value's placeholder is the key in capitals.
    std::string placeholder(s->key());
    for (char& c : placeholder) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    forms += ":" + std::string(s->key()) + "=" + placeholder;
  }
  return forms;
}

}  // namespace gw::coding
