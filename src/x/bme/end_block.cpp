// x/bme end_block: records the block's (height, time) clock, so queries and CheckTx (whose header
// carries no time) read the oracle's price as of the last block.
#include "x/bme/keeper.h"

namespace depai::x::bme {

Status Keeper::end_block(Context& ctx) const {
  set_clock(*ctx.store, Clock{ctx.header->height, ctx.header->time_unix_ms});
  return {};
}

}  // namespace depai::x::bme
