// A results CSV declared once: a table of columns, each a name and how a row writes its
// cell, from which both the header line and every row are produced, so the two cannot drift
// apart (a column added, moved or renamed changes both at once).
#pragma once

#include <array>
#include <cstddef>
#include <numeric>
#include <ostream>
#include <string_view>

namespace gw {

template <typename Row>
struct CsvColumn {
  std::string_view name;
  void (*write)(std::ostream& out, const Row& row);
};

template <typename Member>
struct MemberOf;
template <typename Row, typename Field>
struct MemberOf<Field Row::*> {
  using type = Row;
};

// The column holding one member of the row, written as `out << row.*kMember` (the stream's
// own formatting: the writers set precision 9 on it).
template <auto kMember>
constexpr CsvColumn<typename MemberOf<decltype(kMember)>::type> MemberColumn(
    std::string_view name) {
  using Row = typename MemberOf<decltype(kMember)>::type;
  return {name, [](std::ostream& out, const Row& row) { out << row.*kMember; }};
}

// The header line of kColumns ("a,b,c", no newline) as a '\0'-terminated array built at
// compile time, so the public header constants (const char*) come from the table too.
template <const auto& kColumns>
constexpr auto CsvHeaderText() {
  // Each name and a ',' after it: the last ',' makes room for the '\0'.
  constexpr size_t kSize =
      std::accumulate(kColumns.begin(), kColumns.end(), size_t{0},
                      [](size_t n, const auto& column) { return n + column.name.size() + 1; });
  std::array<char, kSize> text{};
  size_t i = 0;
  for (const auto& column : kColumns) {
    if (i != 0) text[i++] = ',';
    for (const char c : column.name) text[i++] = c;
  }
  text[i] = '\0';
  return text;
}

// That header, e.g. kCsvHeader<kRoundCsvColumns>.data().
template <const auto& kColumns>
inline constexpr auto kCsvHeader = CsvHeaderText<kColumns>();

// One row's cells in the table's order, comma-separated, with the newline.
template <typename Row, size_t N>
void WriteCsvRow(std::ostream& out, const std::array<CsvColumn<Row>, N>& columns, const Row& row) {
  for (size_t i = 0; i < N; ++i) {
    if (i != 0) out << ',';
    columns[i].write(out, row);
  }
  out << '\n';
}

}  // namespace gw
