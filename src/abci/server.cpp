#include "abci/server.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio.hpp>
#include <filesystem>
#include <list>
#include <thread>

#include "abci/framing.h"
#include "abci/translate.h"

namespace depai::abci {

namespace asio = boost::asio;
using ::tendermint::abci::Request;
using ::tendermint::abci::Response;

Response Handler::Handle(const Request& req, bool* fault) {
  Response resp;
  *fault = false;
  if (sigs_ && req.value_case() == Request::kCheckTx && req.check_tx().type() == ::tendermint::abci::NEW) {
    std::vector<app::App::SigCheck> checks;
    {
      std::lock_guard<std::mutex> lock(mu_);
      checks = app_.SigChecksFor(req.check_tx().tx());  // decode + account number only
    }
    for (const auto& c : checks) sigs_->verify_and_record(c.pubkey, c.sign_bytes, c.sig);  // no lock held
  }
  std::lock_guard<std::mutex> lock(mu_);
  switch (req.value_case()) {
    case Request::kEcho:
      resp.mutable_echo()->set_message(req.echo().message());
      break;
    case Request::kFlush:
      resp.mutable_flush();
      break;
    case Request::kInfo:
      ToProto(app_.Info({req.info().version()}), resp.mutable_info());
      break;
    case Request::kInitChain: {
      auto r = app_.InitChain(FromProto(req.init_chain()));
      if (!r.ok()) {
        resp.mutable_exception()->set_error("InitChain: " + r.error().message);
        *fault = true;
      } else {
        ToProto(r.value(), resp.mutable_init_chain());
      }
      break;
    }
    case Request::kQuery:
      ToProto(app_.Query(FromProto(req.query())), resp.mutable_query());
      break;
    case Request::kCheckTx:
      ToProto(app_.CheckTx(FromProto(req.check_tx())), resp.mutable_check_tx());
      break;
    case Request::kPrepareProposal:
      ToProto(app_.PrepareProposal(FromProto(req.prepare_proposal())), resp.mutable_prepare_proposal());
      break;
    case Request::kProcessProposal: {
      auto r = app_.ProcessProposal(FromProto(req.process_proposal()));
      if (r.status != app::ProposalStatus::kAccept)
        spdlog::warn("abci: rejected the proposal at height {}: {}", req.process_proposal().height(), r.reason);
      ToProto(r, resp.mutable_process_proposal());
      break;
    }
    case Request::kFinalizeBlock: {
      auto r = app_.FinalizeBlock(FromProto(req.finalize_block()));
      if (!r.ok()) {
        resp.mutable_exception()->set_error("FinalizeBlock: " + r.error().message);
        *fault = true;
      } else {
        ToProto(r.value(), resp.mutable_finalize_block());
      }
      break;
    }
    case Request::kCommit: {
      auto r = app_.Commit();
      if (!r.ok()) {
        resp.mutable_exception()->set_error("Commit: " + r.error().message);
        *fault = true;
      } else {
        resp.mutable_commit()->set_retain_height(r->retain_height);
      }
      break;
    }
    case Request::kListSnapshots:
      resp.mutable_list_snapshots();
      break;
    case Request::kOfferSnapshot:
      resp.mutable_offer_snapshot()->set_result(::tendermint::abci::ResponseOfferSnapshot::REJECT);
      break;
    case Request::kLoadSnapshotChunk:
      resp.mutable_load_snapshot_chunk();
      break;
    case Request::kApplySnapshotChunk:
      resp.mutable_apply_snapshot_chunk()->set_result(::tendermint::abci::ResponseApplySnapshotChunk::ABORT);
      break;
    case Request::kExtendVote:
      ToProto(app_.ExtendVote(FromProto(req.extend_vote())), resp.mutable_extend_vote());
      break;
    case Request::kVerifyVoteExtension: {
      auto r = app_.VerifyVoteExtension(FromProto(req.verify_vote_extension()));
      if (r.status != app::VerifyStatus::kAccept)
        spdlog::warn("abci: rejected the vote extension of {} at height {}: {}",
                     HexEncode(req.verify_vote_extension().validator_address(), true),
                     req.verify_vote_extension().height(), r.reason);
      ToProto(r, resp.mutable_verify_vote_extension());
      break;
    }
    default:
      resp.mutable_exception()->set_error("unknown ABCI request");
  }
  return resp;
}

class Server::Impl {
 public:
  Impl(app::App& a, std::mutex& mu) : app(a), handler(a, mu, &sigs) { app.set_sig_cache(&sigs); }
  ~Impl() { app.set_sig_cache(nullptr); }
  app::App& app;
  VerifiedSigs sigs;
  Handler handler;
  asio::io_context io;
  std::unique_ptr<asio::local::stream_protocol::acceptor> unix_acceptor;
  std::unique_ptr<asio::ip::tcp::acceptor> tcp_acceptor;
  std::thread accept_thread;
  std::mutex conns_mu;
  std::list<std::thread> conn_threads;
  std::list<std::shared_ptr<void>> sockets;  // kept to shut them down on Stop
  std::atomic<bool> stopping{false};
  std::function<void(const std::string&)>* on_fault = nullptr;
  std::string socket_path;

  template <typename Socket>
  void Serve(std::shared_ptr<Socket> sock) {
    FrameDecoder dec;
    char buf[64 * 1024];
    boost::system::error_code ec;
    while (!stopping) {
      size_t n = sock->read_some(asio::buffer(buf), ec);
      if (ec) break;  // peer closed or Stop()
      dec.feed(std::string_view(buf, n));
      for (;;) {
        auto frame = dec.next();
        if (!frame.ok()) {
          spdlog::error("abci: {}; closing connection", frame.error().message);
          return;
        }
        if (!frame.value()) break;
        Request req;
        Response resp;
        bool fault = false;
        if (!req.ParseFromString(*frame.value())) {
          resp.mutable_exception()->set_error("cannot decode ABCI request");
        } else {
          resp = handler.Handle(req, &fault);
        }
        std::string out = EncodeFrame(resp.SerializeAsString());
        asio::write(*sock, asio::buffer(out), ec);
        if (ec) return;
        if (fault) {
          spdlog::critical("abci: node fault: {}", resp.exception().error());
          if (on_fault && *on_fault) (*on_fault)(resp.exception().error());
          return;
        }
      }
    }
  }

  template <typename Acceptor, typename Socket>
  void AcceptLoop(Acceptor& acc) {
    while (!stopping) {
      auto sock = std::make_shared<Socket>(io);
      boost::system::error_code ec;
      acc.accept(*sock, ec);
      if (ec || stopping) break;
      std::lock_guard<std::mutex> lock(conns_mu);
      sockets.push_back(sock);
      conn_threads.emplace_back([this, sock] { Serve(sock); });
    }
  }
};

Server::Server(app::App& app, std::mutex& app_mu, std::string addr)
    : impl_(std::make_unique<Impl>(app, app_mu)), addr_(std::move(addr)) {
  impl_->on_fault = &on_fault_;
}

Server::~Server() { Stop(); }

Status Server::Start() {
  auto& I = *impl_;
  try {
    if (addr_.rfind("unix://", 0) == 0) {
      I.socket_path = addr_.substr(7);
      std::filesystem::remove(I.socket_path);
      I.unix_acceptor = std::make_unique<asio::local::stream_protocol::acceptor>(
          I.io, asio::local::stream_protocol::endpoint(I.socket_path));
      I.accept_thread = std::thread([&I] {
        I.AcceptLoop<asio::local::stream_protocol::acceptor, asio::local::stream_protocol::socket>(*I.unix_acceptor);
      });
    } else if (addr_.rfind("tcp://", 0) == 0) {
      std::string hp = addr_.substr(6);
      auto colon = hp.rfind(':');
      if (colon == std::string::npos) return Error{"abci", 3, "address must be tcp://host:port: " + addr_};
      auto ep = asio::ip::tcp::endpoint(asio::ip::make_address(hp.substr(0, colon)),
                                        static_cast<uint16_t>(std::stoi(hp.substr(colon + 1))));
      I.tcp_acceptor = std::make_unique<asio::ip::tcp::acceptor>(I.io, ep);
      I.accept_thread =
          std::thread([&I] { I.AcceptLoop<asio::ip::tcp::acceptor, asio::ip::tcp::socket>(*I.tcp_acceptor); });
    } else {
      return Error{"abci", 3, "ABCI address must start with unix:// or tcp://, got '" + addr_ + "'"};
    }
  } catch (const std::exception& e) {
    return Error{"abci", 4, "cannot listen on " + addr_ + ": " + e.what()};
  }
  return {};
}

void Server::Stop() {
  auto& I = *impl_;
  if (I.stopping.exchange(true)) return;
  boost::system::error_code ec;
  // shutdown() on the listening fd wakes a thread blocked in accept(); close() alone does not.
  if (I.unix_acceptor) {
    ::shutdown(I.unix_acceptor->native_handle(), SHUT_RDWR);
    I.unix_acceptor->close(ec);
  }
  if (I.tcp_acceptor) {
    ::shutdown(I.tcp_acceptor->native_handle(), SHUT_RDWR);
    I.tcp_acceptor->close(ec);
  }
  {
    std::lock_guard<std::mutex> lock(I.conns_mu);
    for (auto& s : I.sockets) {
      // shutdown unblocks read_some in the connection thread
      if (I.unix_acceptor)
        std::static_pointer_cast<asio::local::stream_protocol::socket>(s)->shutdown(asio::socket_base::shutdown_both,
                                                                                    ec);
      else
        std::static_pointer_cast<asio::ip::tcp::socket>(s)->shutdown(asio::socket_base::shutdown_both, ec);
    }
  }
  if (I.accept_thread.joinable()) I.accept_thread.join();
  std::lock_guard<std::mutex> lock(I.conns_mu);
  for (auto& t : I.conn_threads)
    if (t.joinable()) t.join();
  std::error_code fs_ec;
  if (!I.socket_path.empty()) std::filesystem::remove(I.socket_path, fs_ec);
}

}  // namespace depai::abci
