// `depai tx verify ...` and `depai query verify ...`: the x/verify messages and queries
// (doc/modules/verify.md, doc/checker-operations.md).
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/keys_util.h"
#include "cli/node_client.h"
#include "cli/output.h"
#include "cli/tx_util.h"
#include "client/http_client.h"
#include "client/verify_msgs.h"
#include "crypto/bech32.h"
#include "util/bytes.h"

namespace depai::cli {

using nlohmann::json;
namespace vv1 = depai::verify::v1;

namespace {

// A dispute makes the chain recompute a row (params.dispute_gas).
constexpr uint64_t kDisputeGas = 4000000;
constexpr const char* kDisputeFees = "200udpai";

struct VerifyArgs {
  TxArgs tx;
  std::string key, id, id2, amount, owner, root, provider, checker, opening, reason_code, reason;
  bool pass = false, fail = false, answered = false, open = false;
  uint32_t rows_checked = 0, failing_row = 0, latency_ms = 0;
};

Amount UdpaiOrThrow(const std::string& s, const char* what) {
  std::string v = s.find_first_not_of("0123456789") == std::string::npos ? s + "udpai" : s;
  auto c = ParseCoinsOrThrow(v, what);
  if (c.list().size() != 1 || c.list()[0].denom != "udpai" || c.list()[0].amount.is_zero())
    throw CommandError{std::string(what) + ": expected a positive udpai amount such as 1000000udpai, got '" + s + "'"};
  return c.list()[0].amount;
}

CLI::App* TxCommand(CLI::App* parent, const char* name, const char* help, const std::shared_ptr<VerifyArgs>& a) {
  auto* c = parent->add_subcommand(name, help);
  c->add_option("key", a->key, "Key name (or address) in the keyring that signs")->required();
  return c;
}

void Broadcast(const GlobalOptions& g, VerifyArgs& a,
               const std::function<google::protobuf::Any(const std::string&)>& make, const std::string& summary) {
  ParseCoinsOrThrow(a.tx.fees, "--fees");
  auto key = LoadKeyOrThrow(g, a.key);
  std::string from = SignerAddress(g, key);
  auto any = make(from);
  SignAndBroadcast(g, a.tx, key, from, {any}, summary + " (signer " + from + ")");
}

void PrintChallengeLine(const json& c) {
  std::cout << c.value("id", "?") << "  " << c.value("kind", "?") << "  " << c.value("state", "?") << "  provider "
            << c.value("provider", "?") << "  created " << c.value("created_height", "?");
  if (c.contains("verdict_id") && c.value("verdict_id", "0") != "0")
    std::cout << "  verdict " << c.value("verdict_id", "");
  std::cout << "\n";
}

void PrintVerdictLine(const json& v) {
  std::cout << v.value("id", "?") << "  challenge " << v.value("challenge_id", "?") << "  " << v.value("kind", "?")
            << "  " << (v.value("pass", false) ? "pass" : "FAIL") << "  " << v.value("reason_code", "REASON_OK") << "  "
            << v.value("state", "VERDICT_STATE_PENDING") << "  height " << v.value("height", "?");
  if (!v.value("reason", "").empty()) std::cout << "\n    " << v.value("reason", "");
  if (v.value("slashed", "0") != "0" && !v.value("slashed", "").empty())
    std::cout << "\n    slashed " << v.value("slashed", "") << "udpai";
  std::cout << "\n";
}

// The opening of a row: a JSON file as the provider endpoint serves it, or fetched from an
// endpoint URL (http://host:port).
client::RowOpening OpeningOrThrow(const std::string& src, uint64_t challenge, uint32_t row) {
  json j;
  if (src.rfind("http://", 0) == 0 || src.rfind("https://", 0) == 0) {
    auto r = client::HttpRequest(
        src, "GET", "/verify/v1/challenges/" + std::to_string(challenge) + "/rows/" + std::to_string(row), "", 15000);
    if (!r.ok()) throw CommandError{r.error().message};
    if (r->status != 200)
      throw CommandError{src + " did not serve row " + std::to_string(row) + " (HTTP " + std::to_string(r->status) +
                         "): " + r->body.substr(0, 200)};
    j = json::parse(r->body, nullptr, false);
  } else {
    std::ifstream f(src);
    if (!f) throw CommandError{"cannot read " + src};
    j = json::parse(f, nullptr, false);
  }
  auto o = client::RowOpeningFromJson(j);
  if (!o.ok()) throw CommandError{o.error().message};
  if (o->index != row)
    throw CommandError{"the opening is for row " + std::to_string(o->index) + ", not " + std::to_string(row)};
  return std::move(o).value();
}

}  // namespace

void RegisterVerifyCommands(CLI::App& app, GlobalOptions& g) {
  auto* tx = app.get_subcommand("tx");
  auto* vt = tx->add_subcommand("verify", "x/verify transactions (checkers, roots, attestations, disputes, appeals)");
  vt->require_subcommand(1);

  {
    auto a = std::make_shared<VerifyArgs>();
    auto* c = TxCommand(vt, "register-checker", "Register as a checker with a bond: KEY BOND [--owner ADDR]", a);
    c->add_option("bond", a->amount, "Bond, e.g. 1000000udpai (at least params.min_checker_bond)")->required();
    c->add_option("--owner", a->owner, "Who runs the checker (address or key name; default: the key itself)");
    AddTxFlags(c, a->tx);
    c->callback([&g, a] {
      Amount bond = UdpaiOrThrow(a->amount, "bond");
      std::string owner = a->owner.empty() ? "" : AddressOrKeyOrThrow(g, a->owner);
      Broadcast(
          g, *a, [&](const std::string& from) { return client::PackMsgRegisterChecker(from, owner, bond); },
          "register checker with bond " + bond.str() + "udpai" + (owner.empty() ? "" : " for owner " + owner));
    });
  }
  {
    auto a = std::make_shared<VerifyArgs>();
    auto* c = TxCommand(vt, "deregister-checker", "Stop taking assignments; the bond unbonds: KEY", a);
    AddTxFlags(c, a->tx);
    c->callback([&g, a] {
      Broadcast(
          g, *a, [&](const std::string& from) { return client::PackMsgDeregisterChecker(from); }, "deregister checker");
    });
  }
  {
    auto a = std::make_shared<VerifyArgs>();
    auto* c = TxCommand(vt, "commit-root",
                        "Post a compute challenge's Merkle root as its provider: KEY CHALLENGE_ID ROOT_HEX", a);
    c->add_option("challenge_id", a->id, "Challenge id")->required();
    c->add_option("root", a->root, "Merkle root, 64 hex characters")->required();
    AddTxFlags(c, a->tx);
    c->callback([&g, a] {
      uint64_t id = IdOrThrow(a->id, "challenge_id");
      auto root = HexDecode(a->root);
      if (!root || root->size() != 32) throw CommandError{"root: expected 64 hex characters"};
      Broadcast(
          g, *a, [&](const std::string& from) { return client::PackMsgCommitRoot(from, id, *root); },
          "commit root " + a->root + " for challenge " + a->id);
    });
  }
  {
    auto a = std::make_shared<VerifyArgs>();
    auto* c =
        TxCommand(vt, "attest",
                  "Attest a challenge as a checker: KEY CHALLENGE_ID --pass|--fail [--reason-code C] [--reason R] "
                  "[--rows-checked N] [--failing-row I] [--answered] [--latency-ms MS]",
                  a);
    c->add_option("challenge_id", a->id, "Challenge id")->required();
    c->add_flag("--pass", a->pass, "The provider passed");
    c->add_flag("--fail", a->fail, "The provider failed");
    c->add_option(
        "--reason-code", a->reason_code,
        "ok | root-late | opening-missing | bad-proof | freivalds | offline | latency (default: ok for --pass, "
        "freivalds for a compute --fail)");
    c->add_option("--reason", a->reason, "Readable reason, at most 256 bytes");
    c->add_option("--rows-checked", a->rows_checked, "Rows checked (compute)");
    c->add_option("--failing-row", a->failing_row, "The failing row (with freivalds / bad-proof)");
    c->add_flag("--answered", a->answered, "Liveness: the provider answered");
    c->add_option("--latency-ms", a->latency_ms, "Liveness: the answer's latency");
    AddTxFlags(c, a->tx);
    c->callback([&g, a] {
      uint64_t id = IdOrThrow(a->id, "challenge_id");
      if (a->pass == a->fail) throw CommandError{"give exactly one of --pass and --fail"};
      if (a->reason.size() > 256) throw CommandError{"--reason: at most 256 bytes"};
      vv1::MsgAttest m;
      m.set_challenge_id(id);
      m.set_pass(a->pass);
      std::string rc = a->reason_code.empty() ? (a->pass ? "ok" : "freivalds") : a->reason_code;
      auto code = client::ParseReasonCode(rc);
      if (!code.ok()) throw CommandError{"--reason-code: " + code.error().message};
      m.set_reason_code(*code);
      m.set_reason(a->reason);
      m.set_rows_checked(a->rows_checked);
      m.set_failing_row(a->failing_row);
      m.set_answered(a->answered);
      m.set_latency_ms(a->latency_ms);
      Broadcast(
          g, *a,
          [&](const std::string& from) {
            m.set_checker(from);
            return client::PackMsgAttest(m);
          },
          std::string("attest ") + (a->pass ? "pass" : "fail") + " on challenge " + a->id);
    });
  }
  {
    auto a = std::make_shared<VerifyArgs>();
    a->tx.gas = kDisputeGas;
    a->tx.fees = kDisputeFees;
    auto* c = TxCommand(
        vt, "dispute", "Have the chain recompute a committed row: KEY CHALLENGE_ID ROW --opening FILE|ENDPOINT_URL", a);
    c->add_option("challenge_id", a->id, "Challenge id")->required();
    c->add_option("row", a->id2, "Row index")->required();
    c->add_option(
         "--opening", a->opening,
         "The row's opening: a JSON file as the provider endpoint serves it, or the endpoint URL to fetch it from")
        ->required();
    AddTxFlags(c, a->tx);
    c->callback([&g, a] {
      uint64_t id = IdOrThrow(a->id, "challenge_id");
      if (a->id2.empty() || a->id2.size() > 9 || a->id2.find_first_not_of("0123456789") != std::string::npos)
        throw CommandError{"row: expected a row index, got '" + a->id2 + "'"};
      uint32_t row = static_cast<uint32_t>(std::stoul(a->id2));
      auto o = OpeningOrThrow(a->opening, id, row);
      Broadcast(
          g, *a, [&](const std::string& from) { return client::PackMsgDispute(from, id, row, o.row, o.proof); },
          "dispute row " + a->id2 + " of challenge " + a->id);
    });
  }
  {
    auto a = std::make_shared<VerifyArgs>();
    auto* c =
        TxCommand(vt, "appeal", "Appeal a failed verdict as its provider (re-run, fresh quorum): KEY VERDICT_ID", a);
    c->add_option("verdict_id", a->id, "Verdict id")->required();
    AddTxFlags(c, a->tx);
    c->callback([&g, a] {
      uint64_t id = IdOrThrow(a->id, "verdict_id");
      Broadcast(
          g, *a, [&](const std::string& from) { return client::PackMsgAppeal(from, id); }, "appeal verdict " + a->id);
    });
  }

  // ---- queries ----
  auto* q = app.get_subcommand("query");
  auto* vq = q->add_subcommand("verify", "x/verify queries");
  vq->require_subcommand(1);
  auto qa = std::make_shared<VerifyArgs>();
  auto dump = [](const json& j) { std::cout << j.dump(2) << "\n"; };

  vq->add_subcommand("params", "x/verify parameters")->callback([&g, dump] {
    Print(g, GetJsonOrThrow(g, "/q/verify/params"), dump);
  });
  vq->add_subcommand("checkers", "Registered checkers")->callback([&g] {
    Print(g, GetJsonOrThrow(g, "/q/verify/checkers"), [](const json& j) {
      const json list = j.value("checkers", json::array());
      if (list.empty()) std::cout << "(no checkers)\n";
      for (const auto& c : list)
        std::cout << c.value("address", "?") << "  bond " << c.value("bond", "?") << "udpai  "
                  << (c.value("active", false) ? "active" : "inactive") << "  attestations "
                  << c.value("attestations", "0") << "  agreed " << c.value("agreed", "0") << "  rewards "
                  << c.value("rewards", "0") << "udpai  banned_until " << c.value("banned_until", "0") << "\n";
    });
  });
  auto* checker = vq->add_subcommand("checker", "One checker: ADDR|KEY");
  checker->add_option("address", qa->checker, "Checker address or key name")->required();
  checker->callback([&g, qa, dump] {
    Print(g, GetJsonOrThrow(g, "/q/verify/checkers/" + AddressOrKeyOrThrow(g, qa->checker)), dump);
  });
  auto* challenge = vq->add_subcommand("challenge", "One challenge: ID");
  challenge->add_option("id", qa->id, "Challenge id")->required();
  challenge->callback([&g, qa, dump] {
    Print(g, GetJsonOrThrow(g, "/q/verify/challenges/" + std::to_string(IdOrThrow(qa->id, "challenge id"))), dump);
  });
  auto* challenges =
      vq->add_subcommand("challenges", "List challenges [--provider ADDR|KEY] [--checker ADDR|KEY] [--open]");
  challenges->add_option("--provider", qa->provider, "Only challenges of this provider");
  challenges->add_option("--checker", qa->owner, "Only challenges whose quorum has this checker");
  challenges->add_flag("--open", qa->open, "Only challenges without a verdict");
  challenges->callback([&g, qa] {
    std::string path = "/q/verify/challenges", sep = "?";
    if (!qa->provider.empty()) path += sep + "provider=" + AddressOrKeyOrThrow(g, qa->provider), sep = "&";
    if (!qa->owner.empty()) path += sep + "checker=" + AddressOrKeyOrThrow(g, qa->owner), sep = "&";
    if (qa->open) path += sep + "open=true";
    Print(g, GetJsonOrThrow(g, path), [](const json& j) {
      const json list = j.value("challenges", json::array());
      if (list.empty()) std::cout << "(no challenges)\n";
      for (const auto& c : list) PrintChallengeLine(c);
    });
  });
  auto* verdict = vq->add_subcommand("verdict", "One verdict with its measurements: ID");
  verdict->add_option("id", qa->id2, "Verdict id")->required();
  verdict->callback([&g, qa, dump] {
    Print(g, GetJsonOrThrow(g, "/q/verify/verdicts/" + std::to_string(IdOrThrow(qa->id2, "verdict id"))), dump);
  });
  auto* history = vq->add_subcommand("history", "A provider's reputation and verdicts, newest first: PROVIDER");
  history->add_option("provider", qa->root, "Provider address or key name")->required();
  history->callback([&g, qa] {
    Print(g, GetJsonOrThrow(g, "/q/verify/history/" + AddressOrKeyOrThrow(g, qa->root)), [](const json& j) {
      const json rep = j.value("reputation", json::object());
      std::cout << "provider: " << j.value("provider", "?") << "\nreputation: " << rep.value("bps", 0u) << " bps over "
                << rep.value("verdicts", "0") << " verdict(s)\nverdicts:\n";
      const json list = j.value("verdicts", json::array());
      if (list.empty()) std::cout << "  (none)\n";
      for (const auto& v : list) {
        std::cout << "  ";
        PrintVerdictLine(v);
      }
    });
  });
  auto* rep = vq->add_subcommand("reputation", "A provider's reputation (bps): PROVIDER");
  rep->add_option("provider", qa->reason, "Provider address or key name")->required();
  rep->callback([&g, qa] {
    Print(g, GetJsonOrThrow(g, "/q/verify/reputation/" + AddressOrKeyOrThrow(g, qa->reason)), [](const json& j) {
      std::cout << "provider: " << j.value("provider", "?") << "\nbps: " << j.value("bps", 0u)
                << "\nverdicts: " << j.value("verdicts", "0") << "\npasses: " << j.value("passes", "0")
                << "\nprior: " << (j.value("prior", false) ? "true" : "false") << "\n";
    });
  });
}

}  // namespace depai::cli
