// api/requests and api::Route: parameters are accepted exactly as doc/openapi.yaml declares them
// (int64 heights from 1, 64-hex tx hashes, bech32 addresses, no repeated query parameter), bad ones
// are a 400 JSON error {code, codespace, message}, a wrong method is a 405 with Allow, an unknown
// path a 404. Route runs over a fake Backend: no node, no network.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/requests.h"
#include "api/server.h"
#include "crypto/bech32.h"

using namespace depai;
using nlohmann::json;

namespace {

// A chain at height 5 with empty blocks; every module query succeeds with {"path": <app path>}.
class FakeBackend : public api::Backend {
 public:
  app::ResponseCheckTx Broadcast(const Bytes&, std::string* hash_out) override {
    *hash_out = std::string(64, 'A');
    app::ResponseCheckTx r;
    r.code = 2;
    r.codespace = "sdk";
    r.log = "tx parse error";
    return r;
  }
  std::optional<devnet::TxLocation> WaitForTx(const std::string&, int64_t) override { return std::nullopt; }
  app::ResponseQuery Query(const std::string& path) override {
    queries.push_back(path);
    app::ResponseQuery q;
    q.value = json{{"path", path}}.dump();
    return q;
  }
  devnet::NodeStatus Status() override {
    devnet::NodeStatus s;
    s.chain_id = "test-1";
    s.height = 5;
    return s;
  }
  std::optional<devnet::StoredBlock> Block(int64_t height) override {
    blocks_asked.push_back(height);
    if (height < 1 || height > 5) return std::nullopt;
    devnet::StoredBlock b;
    b.height = height;
    b.time_unix_ms = 1000 * height;
    return b;
  }
  std::optional<devnet::TxLocation> FindTx(const std::string& hash) override {
    hashes_asked.push_back(hash);
    return std::nullopt;
  }
  std::string TxJson(const Bytes&) override { return "{}"; }

  std::vector<std::string> queries, hashes_asked;
  std::vector<int64_t> blocks_asked;
};

std::string Address() { return crypto::AddressToBech32(std::string(20, '\x07')); }

// Route, and the error body when it is not 200 (which must be {code, codespace, message}).
struct Answer {
  int status;
  json body;
  std::string allow;
};
Answer Call(FakeBackend& node, const std::string& method, const std::string& target, const std::string& body = "") {
  auto r = api::Route(node, method, target, body);
  Answer a{r.status, json::parse(r.body, nullptr, false), ""};
  EXPECT_FALSE(a.body.is_discarded()) << target << ": " << r.body;
  for (const auto& [k, v] : r.headers)
    if (k == "Allow") a.allow = v;
  if (a.status != 200) {
    EXPECT_TRUE(a.body.contains("code") && a.body["code"].is_number_unsigned()) << r.body;
    EXPECT_TRUE(a.body.contains("codespace") && a.body["codespace"].is_string()) << r.body;
    EXPECT_TRUE(a.body.contains("message") && a.body["message"].is_string()) << r.body;
  }
  return a;
}

}  // namespace

TEST(ApiRequests, HeightsAreInt64FromTheMinimum) {
  EXPECT_EQ(*api::ParseHeight("h", "1"), 1);
  EXPECT_EQ(*api::ParseHeight("h", "007"), 7);
  EXPECT_EQ(*api::ParseHeight("h", "9223372036854775807"), api::kMaxHeight);
  EXPECT_EQ(*api::ParseHeight("h", "0", 0), 0);
  for (const char* bad : {"", "0", "-1", "+1", " 1", "1 ", "1.0", "1e3", "0x10", "abc", "9223372036854775808",
                          "99999999999999999999999"}) {
    auto r = api::ParseHeight("to_height", bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().codespace, "api");
    EXPECT_EQ(r.error().code, 7u);
    EXPECT_NE(r.error().message.find("to_height must be an integer from 1 to 9223372036854775807"), std::string::npos)
        << r.error().message;
  }
}

TEST(ApiRequests, TxHashesAre64HexEitherCase) {
  std::string lower(64, 'a');
  EXPECT_EQ(*api::ParseTxHash(lower), std::string(64, 'A'));
  EXPECT_EQ(*api::ParseTxHash("%61" + std::string(63, 'b')), "A" + std::string(63, 'B'));  // percent-decoded
  for (const std::string& bad : {std::string(), std::string(63, 'a'), std::string(65, 'a'), std::string(63, 'a') + "g",
                                 std::string(62, 'a') + "%20"}) {
    auto r = api::ParseTxHash(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, 9u);
  }
}

TEST(ApiRequests, AddressesAreBech32) {
  std::string a = Address();
  EXPECT_EQ(*api::ParseAddressParam(a), a);
  std::string upper = a;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(*api::ParseAddressParam(upper), upper);  // BIP-173 all-upper form
  std::string bad_checksum = a;
  bad_checksum.back() = bad_checksum.back() == 'q' ? 'p' : 'q';
  for (const std::string& bad : {std::string("0"), std::string("depai1xyz"), bad_checksum, a + "q",
                                 std::string("cosmos1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqnrql8a")}) {
    auto r = api::ParseAddressParam(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().codespace, "sdk");
    EXPECT_EQ(r.error().code, 7u);
  }
}

TEST(ApiRequests, QueryStringsAreDecodedAndNeverRepeated) {
  auto q = api::ParseQuery("/events?type=a%20b+c&from_height=1&flag&&empty=");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->at("type"), "a b c");
  EXPECT_EQ(q->at("from_height"), "1");
  EXPECT_EQ(q->at("flag"), "");
  EXPECT_EQ(q->at("empty"), "");
  EXPECT_TRUE(api::ParseQuery("/events")->empty());
  auto dup = api::ParseQuery("/events?from_height=1&from_height=2");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, 16u);
  EXPECT_NE(dup.error().message.find("'from_height' given more than once"), std::string::npos);
}

TEST(ApiRequests, EventsRequest) {
  auto r = api::ParseEventsRequest("/events?from_height=3&to_height=9&type=transfer&other=x");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->from_height, 3);
  EXPECT_EQ(r->to_height, 9);
  EXPECT_EQ(r->type, "transfer");
  auto none = api::ParseEventsRequest("/events");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->from_height || none->to_height);
  for (const char* bad :
       {"/events?to_height=0", "/events?from_height=0", "/events?from_height=", "/events?to_height=-5",
        "/events?from_height=9223372036854775808", "/events?to_height=1&to_height=2"})
    EXPECT_FALSE(api::ParseEventsRequest(bad).ok()) << bad;
}

TEST(ApiRoute, BadParametersAre400WithTheErrorAndAskNothing) {
  FakeBackend node;
  struct Case {
    const char* target;
    uint32_t code;
    const char* codespace;
  };
  for (const Case& c : {Case{"/events?to_height=0", 7, "api"}, Case{"/events?from_height=0", 7, "api"},
                        Case{"/events?from_height=abc", 7, "api"}, Case{"/events?type=a&type=b", 16, "api"},
                        Case{"/blocks/0", 7, "api"}, Case{"/blocks/-1", 7, "api"}, Case{"/blocks/", 7, "api"},
                        Case{"/blocks/9223372036854775808", 7, "api"}, Case{"/txs/xyz", 9, "api"},
                        Case{"/accounts/depai1xyz", 7, "sdk"}, Case{"/balances/0", 7, "sdk"}}) {
    auto a = Call(node, "GET", c.target);
    EXPECT_EQ(a.status, 400) << c.target;
    EXPECT_EQ(a.body.value("code", 0u), c.code) << c.target << " " << a.body.dump();
    EXPECT_EQ(a.body.value("codespace", ""), c.codespace) << c.target;
  }
  EXPECT_TRUE(node.queries.empty());
  EXPECT_TRUE(node.blocks_asked.empty());
  EXPECT_TRUE(node.hashes_asked.empty());
}

TEST(ApiRoute, GoodParametersReachTheNode) {
  FakeBackend node;
  auto ev = Call(node, "GET", "/events?from_height=2&to_height=9223372036854775807");
  ASSERT_EQ(ev.status, 200);
  EXPECT_EQ(ev.body["from_height"], "2");
  EXPECT_EQ(ev.body["to_height"], "5");  // clamped to the latest height
  EXPECT_EQ(ev.body["next_height"], "6");
  // A from_height past the latest (even the largest int64) is an empty page, not an overflow.
  auto far = Call(node, "GET", "/events?from_height=9223372036854775807");
  ASSERT_EQ(far.status, 200);
  EXPECT_EQ(far.body["next_height"], "9223372036854775807");
  EXPECT_TRUE(far.body["events"].empty());

  EXPECT_EQ(Call(node, "GET", "/blocks/5").status, 200);
  EXPECT_EQ(Call(node, "GET", "/blocks/latest").body["height"], "5");
  auto missing = Call(node, "GET", "/blocks/9223372036854775807");  // valid, not there yet
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body["code"], 8);
  auto tx = Call(node, "GET", "/txs/" + std::string(64, 'a'));
  EXPECT_EQ(tx.status, 404);
  ASSERT_EQ(node.hashes_asked.size(), 1u);
  EXPECT_EQ(node.hashes_asked[0], std::string(64, 'A'));

  EXPECT_EQ(Call(node, "GET", "/balances/" + Address()).status, 200);
  EXPECT_EQ(node.queries.back(), "/bank/balances/" + Address());
  EXPECT_EQ(Call(node, "GET", "/q/bank%2Fsupply?x=%41").status, 200);
  EXPECT_EQ(node.queries.back(), "/bank/supply?x=%41");  // path decoded, query string as sent
}

TEST(ApiRoute, WrongMethodIs405WithAllowUnknownPathIs404) {
  FakeBackend node;
  for (const char* m : {"POST", "PUT", "DELETE", "PATCH", "TRACE", "OPTIONS"}) {
    for (const char* p : {"/status", "/events", "/supply", "/denoms", "/params/auth", "/blocks/latest", "/blocks/1",
                          "/q/bank/supply", "/accounts/x", "/balances/x", "/txs/ab"}) {
      auto a = Call(node, m, p);
      EXPECT_EQ(a.status, 405) << m << " " << p;
      EXPECT_EQ(a.allow, "GET") << m << " " << p;
      EXPECT_EQ(a.body["code"], 1);
    }
  }
  for (const char* m : {"GET", "PUT", "DELETE"}) {
    auto a = Call(node, m, "/txs");
    EXPECT_EQ(a.status, 405) << m;
    EXPECT_EQ(a.allow, "POST");
  }
  for (const char* p : {"/nothing", "/", "/txs2", "/statusx", "/q", "/accounts"}) {
    auto a = Call(node, "GET", p);
    EXPECT_EQ(a.status, 404) << p;
    EXPECT_EQ(a.body["code"], 11);
    EXPECT_TRUE(a.allow.empty());
    EXPECT_EQ(Call(node, "DELETE", p).status, 404) << p;  // no such path, whatever the method
  }
  EXPECT_EQ(api::AllowedMethods("/txs"), "POST");
  EXPECT_EQ(api::AllowedMethods("/txs/AB"), "GET");
  EXPECT_EQ(api::AllowedMethods("/nothing"), "");
}

TEST(ApiRoute, BroadcastRejectionsAre400AndErrorsAreValidJson) {
  FakeBackend node;
  EXPECT_EQ(Call(node, "POST", "/txs", "{not json").body["code"], 2);
  EXPECT_EQ(Call(node, "POST", "/txs", R"({"tx_bytes": ""})").body["code"], 4);
  auto rejected = Call(node, "POST", "/txs", R"({"tx_bytes": "AAAA"})");
  EXPECT_EQ(rejected.status, 400);
  EXPECT_EQ(rejected.body["codespace"], "sdk");
  EXPECT_EQ(rejected.body["hash"], std::string(64, 'A'));
  // Bytes that are not UTF-8, quoted back in a message, still make a JSON body.
  auto a = Call(node, "GET", "/events?from_height=%FF%FE");
  EXPECT_EQ(a.status, 400);
  EXPECT_NE(a.body["message"].get<std::string>().find("from_height"), std::string::npos);
}
