// The sync-rule registry (ps/sync/registry.h): every rule in the table is reachable from
// --sync by its name and builds; the capabilities the server asks instead of testing the
// rule's name.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "base/error.h"
#include "ps/sync/registry.h"
#include "ps/sync_rule.h"

namespace gw {
namespace {

using ::testing::HasSubstr;

TEST(SyncRegistry, EveryRegisteredRuleParsesByNameAndBuilds) {
  ASSERT_FALSE(SyncRules().empty());
  for (const SyncRuleEntry* entry : SyncRules()) {
    SCOPED_TRACE(std::string(entry->name));
    const SyncSpec spec = SyncSpec::Parse(std::string(entry->name));
    EXPECT_EQ(spec.kind, entry->name);
    EXPECT_EQ(&spec.rule(), entry);
    EXPECT_EQ(SyncSpec::Parse(spec.ToString()).ToString(), spec.ToString());
    EXPECT_EQ(FindSyncRule(entry->name), entry);
    ASSERT_NE(entry->make, nullptr);
    SyncRule rule(spec, 3);
    EXPECT_EQ(rule.num_live(), 3u);
    bool accepted = false;
    rule.OnArrival(0, 0, &accepted);
    EXPECT_TRUE(accepted);
    EXPECT_EQ(rule.clock(0), 1u);
  }
}

TEST(SyncRegistry, NamesAreUniqueAndListedInHelpAndErrors) {
  std::string error;
  try {
    SyncSpec::Parse("no-such-rule");
  } catch (const Error& e) {
    error = e.what();
  }
  const std::string help = SyncRulesHelp();
  for (const SyncRuleEntry* entry : SyncRules()) {
    EXPECT_EQ(FindSyncRule(entry->name), entry) << entry->name << " registered twice";
    EXPECT_THAT(error, HasSubstr(std::string(entry->syntax)));
    EXPECT_THAT(help, HasSubstr(std::string(entry->syntax)));
    EXPECT_THAT(help, HasSubstr(std::string(entry->help)));
  }
  EXPECT_THAT(error, HasSubstr("no-such-rule"));
  EXPECT_EQ(FindSyncRule("no-such-rule"), nullptr);
}

TEST(SyncRegistry, RulesWithoutParameterRefuseOne) {
  for (const char* text : {"bsp:1", "asp:2", "r2sp:3"}) {
    EXPECT_THROW(SyncSpec::Parse(text), Error) << text;
  }
}

// What the server asks instead of testing the rule: BSP releases everyone together (sending
// from the shared model) and ends the job on a lost worker unless told to go on; the
// asynchronous rules release one at a time and always go on.
TEST(SyncRegistry, Capabilities) {
  const SyncRule bsp(SyncSpec::Parse("bsp"), 2);
  EXPECT_TRUE(bsp.releases_together());
  EXPECT_FALSE(bsp.goes_on_without_lost_workers(false));
  EXPECT_TRUE(bsp.goes_on_without_lost_workers(true));
  for (const char* text : {"asp", "ssp:2", "r2sp"}) {
    const SyncRule rule(SyncSpec::Parse(text), 2, /*r2sp_warmup=*/3);
    EXPECT_FALSE(rule.releases_together()) << text;
    EXPECT_TRUE(rule.goes_on_without_lost_workers(false)) << text;
    EXPECT_TRUE(rule.goes_on_without_lost_workers(true)) << text;
  }
  EXPECT_TRUE(SyncSpec::Parse("r2sp").rule().takes_turns);
  for (const char* text : {"bsp", "asp", "ssp"}) {
    EXPECT_FALSE(SyncSpec::Parse(text).rule().takes_turns) << text;
  }
}

TEST(SyncRegistry, OnlyBspResumes) {
  SyncRule bsp(SyncSpec::Parse("bsp"), 2);
  bsp.ResumeBspAt(7);
  EXPECT_EQ(bsp.clock(0), 7u);
  EXPECT_EQ(bsp.bsp_iteration(), 7u);
  for (const char* text : {"asp", "ssp:1", "r2sp"}) {
    SyncRule rule(SyncSpec::Parse(text), 2);
    EXPECT_THROW(rule.ResumeBspAt(7), Error) << text;
    EXPECT_EQ(rule.clock(0), 0u) << text << ": a refused resume changes nothing";
  }
}

}  // namespace
}  // namespace gw
