// x/market event attributes shared by the lease handlers and end_block (module-internal).
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "depai/market/v1/market.pb.h"
#include "x/types/context.h"

namespace depai::x::market {

// The attributes every market.lease_* event starts with.
inline std::vector<EventAttribute> LeaseAttrs(const depai::market::v1::Lease& l) {
  return {{"lease_id", std::to_string(l.id())},
          {"order_id", std::to_string(l.order_id())},
          {"owner", l.owner()},
          {"provider", l.provider()}};
}

}  // namespace depai::x::market
