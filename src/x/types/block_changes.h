// The per-block invariants' view of a block: its writes under one store prefix, each with the
// value the key had before the block. The "before" value is the one the block's branch recorded
// at its first read when the branch sits directly on `committed`, else it is read from
// `committed`. Used by every module's check_block_invariants, so each costs the writes under its
// own prefixes, not the whole block. Not thread-safe (reads the branch).
#pragma once

#include <functional>
#include <optional>
#include <string_view>

#include "store/cache_store.h"
#include "util/result.h"

namespace depai::x {

using BlockChangeFn =
    std::function<Status(std::string_view key, const std::optional<Bytes>& before, const std::optional<Bytes>& after)>;

// Calls fn for each write under `prefix`, in key order; the first error stops and is returned.
Status ForEachBlockChange(const store::CacheStore& block, const store::KVReader& committed, std::string_view prefix,
                          const BlockChangeFn& fn);

}  // namespace depai::x
