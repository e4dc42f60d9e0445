// Every coding scheme the system runs, in one explicit table (coding/scheme_registry.cc), in
// the order usage texts list them. An explicit table rather than self-registering statics:
// the schemes live in a static library, whose unreferenced objects the linker drops.
//
// Adding a scheme: a CodingKind value (coding/coding_scheme.h), one file implementing
// CodingScheme (coding/uncoded_scheme.cc is the smallest), one line in the table, its tests.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "coding/coding_scheme.h"

namespace gw::coding {

std::span<const CodingScheme* const> CodingSchemes();
// The scheme of a kind; throws gw::Error for a kind no scheme registered.
const CodingScheme& SchemeOf(CodingKind kind);
// The scheme called `name`, or nullptr.
const CodingScheme* SchemeNamed(std::string_view name);
// The text forms of every scheme: "uncoded | replication:r=R | …".
std::string SchemeForms();

}  // namespace gw::coding
