// x/market event attributes shared by the lease handlers and end_block (module-internal).
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "depai/market/v1/market.pb.h"
#include "x/types/context.h"

namespace depai::x::market {

// The attributes every market.lease_* event starts with.
// A credit-priced lease adds its denom (udpai leases' events are as they always were).
inline std::vector<EventAttribute> LeaseAttrs(const depai::market::v1::Lease& l) {
  std::vector<EventAttribute> a{{"lease_id", std::to_string(l.id())},
                                {"order_id", std::to_string(l.order_id())},
                                {"owner", l.owner()},
                                {"provider", l.provider()}};
  if (!l.denom().empty()) a.push_back({"denom", l.denom()});
  return a;
}

}  // namespace depai::x::market
