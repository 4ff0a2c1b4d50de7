// HardenProcess leaves the process non-dumpable with no core file allowed. (This test binary is
// hardened by it, which is harmless.)
#include "service/common/process_hardening.h"

#include <sys/prctl.h>
#include <sys/resource.h>

#include "gtest/gtest.h"

namespace tokend {
namespace {

TEST(ProcessHardeningTest, NoCoreDumpAndNotDumpable) {
  ASSERT_EQ(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), 0);  // Start from the usual state.
  ASSERT_TRUE(HardenProcess().ok());
  EXPECT_EQ(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
  rlimit core;
  ASSERT_EQ(getrlimit(RLIMIT_CORE, &core), 0);
  EXPECT_EQ(core.rlim_cur, 0u);
  EXPECT_EQ(core.rlim_max, 0u);
  EXPECT_TRUE(HardenProcess().ok());  // Idempotent.
}

}  // namespace
}  // namespace tokend
