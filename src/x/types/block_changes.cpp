#include "x/types/block_changes.h"

namespace depai::x {

Status ForEachBlockChange(const store::CacheStore& block, const store::KVReader& committed, std::string_view prefix,
                          const BlockChangeFn& fn) {
  const bool use_originals = block.parent() == &committed;
  Status st;
  block.for_each_write(prefix, store::PrefixEnd(prefix),
                       [&](const std::string& k, const std::optional<Bytes>& v, const std::optional<Bytes>* orig) {
                         if (!st.ok()) return;
                         if (use_originals && orig) {
                           st = fn(k, *orig, v);
                         } else {
                           st = fn(k, committed.get(k), v);
                         }
                       });
  return st;
}

}  // namespace depai::x
