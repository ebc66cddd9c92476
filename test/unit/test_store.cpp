#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include <filesystem>

#include "crypto/lthash.h"
#include "store/cache_store.h"
#include "store/mem_store.h"
#include "store/state_db.h"

using namespace depai;
using namespace depai::store;

namespace {
std::vector<std::pair<std::string, std::string>> Dump(const KVReader& s, std::string_view start = "",
                                                      std::string_view end = "") {
  std::vector<std::pair<std::string, std::string>> out;
  s.iterate(start, end, [&](std::string_view k, std::string_view v) {
    out.emplace_back(k, v);
    return true;
  });
  return out;
}
}  // namespace

TEST(CacheStore, BranchWritesInvisibleUntilWritten) {
  MemStore base;
  base.set("a", "1");
  CacheStore br(&base);
  br.set("a", "2");
  br.set("b", "3");
  EXPECT_EQ(*br.get("a"), "2");
  EXPECT_EQ(*base.get("a"), "1");
  EXPECT_FALSE(base.get("b"));
  br.write_to(base);
  EXPECT_EQ(*base.get("a"), "2");
  EXPECT_EQ(*base.get("b"), "3");
}

TEST(CacheStore, RollbackByDiscarding) {
  MemStore base;
  base.set("k", "v");
  {
    CacheStore br(&base);
    br.del("k");
    br.set("x", "y");
    EXPECT_FALSE(br.get("k"));
  }
  EXPECT_EQ(*base.get("k"), "v");
  EXPECT_FALSE(base.get("x"));
  EXPECT_EQ(base.size(), 1u);
}

TEST(CacheStore, NestedBranches) {
  MemStore base;
  CacheStore outer(&base);
  outer.set("a", "1");
  {
    CacheStore inner(&outer);
    inner.set("a", "2");
    inner.set("b", "2");
    // inner dropped without write: outer unchanged
  }
  EXPECT_EQ(*outer.get("a"), "1");
  EXPECT_FALSE(outer.get("b"));
  {
    CacheStore inner(&outer);
    inner.set("b", "3");
    inner.del("a");
    inner.write_to(outer);
  }
  EXPECT_FALSE(outer.get("a"));
  EXPECT_EQ(*outer.get("b"), "3");
  EXPECT_EQ(base.size(), 0u);
  outer.write_to(base);
  EXPECT_EQ(base.size(), 1u);
}

TEST(CacheStore, IterationMergesPendingWritesInOrder) {
  MemStore base;
  base.set("a", "1");
  base.set("c", "3");
  base.set("e", "5");
  CacheStore br(&base);
  br.set("b", "2");
  br.del("c");
  br.set("e", "50");
  br.set("f", "6");
  (void)br.get("a");  // cached read must not duplicate
  auto all = Dump(br);
  std::vector<std::pair<std::string, std::string>> want = {{"a", "1"}, {"b", "2"}, {"e", "50"}, {"f", "6"}};
  EXPECT_EQ(all, want);
  auto range = Dump(br, "b", "f");
  std::vector<std::pair<std::string, std::string>> want2 = {{"b", "2"}, {"e", "50"}};
  EXPECT_EQ(range, want2);
  int n = 0;
  br.iterate("", "", [&](std::string_view, std::string_view) { return ++n < 2; });
  EXPECT_EQ(n, 2);
}

TEST(CacheStore, PrefixEnd) {
  EXPECT_EQ(PrefixEnd("ab"), "ac");
  EXPECT_EQ(PrefixEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixEnd(std::string("\xff", 1)), "");
}

TEST(LtHash, OrderIndependentAndInvertible) {
  crypto::LtHash a, b;
  a.add("k1", "v1");
  a.add("k2", "v2");
  b.add("k2", "v2");
  b.add("k1", "v1");
  EXPECT_EQ(a.checksum(), b.checksum());
  a.remove("k2", "v2");
  crypto::LtHash c;
  c.add("k1", "v1");
  EXPECT_EQ(a.checksum(), c.checksum());
  crypto::LtHash d;
  d.add("k1", "v2");
  EXPECT_NE(c.checksum(), d.checksum());
  EXPECT_EQ(crypto::LtHash::Deserialize(c.serialize()), c);
}

TEST(StateDB, CommitIsAtomicAndAppHashTracksState) {
  auto dir = std::filesystem::temp_directory_path() / ("depai-statedb-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  Bytes h1, h2;
  {
    auto db = StateDB::Open(dir.string()).value();
    EXPECT_EQ(db->height(), 0);
    EXPECT_EQ(db->app_hash(), EmptyAppHash());
    CacheStore block(&db->committed());
    block.set("x", "1");
    block.set("y", "2");
    h1 = db->prepare(block);
    EXPECT_NE(h1, EmptyAppHash());
    // prepare persists nothing
    EXPECT_FALSE(db->committed().get("x"));
    ASSERT_TRUE(db->commit(block, 1).ok());
    EXPECT_EQ(db->app_hash(), h1);
    // An empty block leaves the hash unchanged; so does rewriting the same value.
    CacheStore same(&db->committed());
    same.set("x", "1");
    EXPECT_EQ(db->prepare(same), h1);
    ASSERT_TRUE(db->commit(same, 2).ok());
    CacheStore change(&db->committed());
    change.set("x", "9");
    h2 = db->prepare(change);
    EXPECT_NE(h2, h1);
    ASSERT_TRUE(db->commit(change, 3).ok());
  }
  {
    auto db = StateDB::Open(dir.string()).value();
    EXPECT_EQ(db->height(), 3);
    EXPECT_EQ(db->app_hash(), h2);
    EXPECT_EQ(*db->committed().get("x"), "9");
    // Same state reached by a different history has the same hash.
    auto db2 = StateDB::Open("").value();
    CacheStore b(&db2->committed());
    b.set("y", "2");
    b.set("x", "9");
    EXPECT_EQ(db2->prepare(b), h2);
  }
  std::filesystem::remove_all(dir);
}
