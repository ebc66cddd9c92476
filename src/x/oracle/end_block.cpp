// x/oracle block hook: end_block aggregates the block's MsgPostPrice reports (one round, weight 1 per feeder) and
// clears them.
#include "x/oracle/keeper.h"
#include "x/oracle/keys.h"

namespace depai::x::oracle {

Status Keeper::end_block(Context& ctx) const {
  std::vector<Report> reports;
  std::vector<std::string> done;
  DEPAI_TRY(for_each_post(*ctx.store, [&](std::string_view feeder, uint64_t price_e9) {
    reports.push_back(Report{price_e9, 1});
    done.push_back(keys::Post(feeder));
    return true;
  }));
  for (const auto& k : done) ctx.store->del(k);
  return aggregate(ctx, reports, depai::oracle::v1::SOURCE_FEEDERS, 10000);
}

}  // namespace depai::x::oracle
