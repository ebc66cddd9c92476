// What x/oracle needs from other modules: nothing. The oracle reads only its own state (params,
// the validator set InitChain gave, the last aggregation) and the block header; other modules
// read it through keeper methods (price_info) behind their own expected_keepers.h interfaces.
#pragma once

namespace depai::x::oracle {}  // namespace depai::x::oracle
