// The ABCI socket server against the real App over a unix socket: responses in order, Flush
// after earlier responses, and a full InitChain -> FinalizeBlock -> Commit -> Info round trip.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio.hpp>

#include "abci/framing.h"
#include "abci/server.h"
#include "ledger_fixture.h"

using namespace depai;
namespace asio = boost::asio;
using ::tendermint::abci::Request;
using ::tendermint::abci::Response;

namespace {
class Client {
 public:
  explicit Client(const std::string& path) : sock_(io_) { sock_.connect(asio::local::stream_protocol::endpoint(path)); }
  void Send(const Request& r) {
    auto f = abci::EncodeFrame(r.SerializeAsString());
    asio::write(sock_, asio::buffer(f));
  }
  Response Recv() {
    for (;;) {
      auto fr = dec_.next();
      EXPECT_TRUE(fr.ok());
      if (fr.ok() && fr.value()) {
        Response r;
        EXPECT_TRUE(r.ParseFromString(*fr.value()));
        return r;
      }
      char buf[4096];
      size_t n = sock_.read_some(asio::buffer(buf));
      dec_.feed(std::string_view(buf, n));
    }
  }

 private:
  asio::io_context io_;
  asio::local::stream_protocol::socket sock_;
  abci::FrameDecoder dec_;
};
}  // namespace

TEST(AbciServer, RoundTripOverUnixSocket) {
  test::TestLedger L(3, "", /*init=*/false);
  std::mutex mu;
  std::string path = "/tmp/depai-abci-test-" + std::to_string(::getpid()) + ".sock";
  abci::Server server(*L.app, mu, "unix://" + path);
  ASSERT_TRUE(server.Start().ok());
  Client c(path);

  // Pipelined: several requests, then Flush; responses come back in the same order.
  Request echo;
  echo.mutable_echo()->set_message("hi");
  Request info;
  info.mutable_info();
  Request init;
  init.mutable_init_chain()->set_chain_id(test::TestLedger::kChainId);
  init.mutable_init_chain()->set_initial_height(1);
  init.mutable_init_chain()->set_app_state_bytes(L.Genesis().dump());
  Request flush;
  flush.mutable_flush();
  c.Send(echo);
  c.Send(info);
  c.Send(init);
  c.Send(flush);
  auto r1 = c.Recv();
  ASSERT_TRUE(r1.has_echo());
  EXPECT_EQ(r1.echo().message(), "hi");
  auto r2 = c.Recv();
  ASSERT_TRUE(r2.has_info());
  EXPECT_EQ(r2.info().last_block_height(), 0);
  auto r3 = c.Recv();
  ASSERT_TRUE(r3.has_init_chain()) << r3.exception().error();
  EXPECT_EQ(r3.init_chain().app_hash().size(), 32u);
  ASSERT_TRUE(c.Recv().has_flush());

  // A block with one transfer.
  Request fb;
  fb.mutable_finalize_block()->set_height(1);
  fb.mutable_finalize_block()->add_txs(L.Send(0, L.accounts[1].bech32, "5udpai"));
  c.Send(fb);
  auto r4 = c.Recv();
  ASSERT_TRUE(r4.has_finalize_block()) << r4.exception().error();
  ASSERT_EQ(r4.finalize_block().tx_results_size(), 1);
  EXPECT_EQ(r4.finalize_block().tx_results(0).code(), 0u) << r4.finalize_block().tx_results(0).log();
  Request commit;
  commit.mutable_commit();
  c.Send(commit);
  ASSERT_TRUE(c.Recv().has_commit());
  c.Send(info);
  auto r5 = c.Recv();
  EXPECT_EQ(r5.info().last_block_height(), 1);
  EXPECT_EQ(r5.info().last_block_app_hash(), r4.finalize_block().app_hash());

  // Query over ABCI.
  Request q;
  q.mutable_query()->set_path("/bank/balances/" + L.accounts[1].bech32);
  c.Send(q);
  auto r6 = c.Recv();
  ASSERT_TRUE(r6.has_query());
  EXPECT_EQ(r6.query().code(), 0u);
  EXPECT_NE(r6.query().value().find("1000000005"), std::string::npos) << r6.query().value();

  // A second connection (e.g. the mempool connection) is served concurrently.
  Client c2(path);
  Request ck;
  ck.mutable_check_tx()->set_tx("garbage");
  c2.Send(ck);
  auto r7 = c2.Recv();
  ASSERT_TRUE(r7.has_check_tx());
  EXPECT_EQ(r7.check_tx().code(), 2u);
  server.Stop();
}

TEST(AbciServer, RejectsBadAddress) {
  test::TestLedger L(1, "", false);
  std::mutex mu;
  abci::Server s(*L.app, mu, "http://nope");
  EXPECT_FALSE(s.Start().ok());
}
