// `depai tx provider ...` and `depai query provider ...`: the provider registry (x/provider).
// Inputs are checked with the module's own stateless validators before anything is signed, so a
// bad flag fails locally with the same message the chain would give.
#include <google/protobuf/util/json_util.h>

#include <toml++/toml.h>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/commands.h"
#include "cli/keys_util.h"
#include "cli/node_client.h"
#include "cli/output.h"
#include "cli/tx_util.h"
#include "client/provider_msgs.h"
#include "crypto/bech32.h"
#include "x/provider/module.h"

namespace depai::cli {

using nlohmann::json;
namespace pv = depai::provider::v1;

namespace {
struct ProviderArgs {
  std::string key, provider, config, endpoint, lat, lon, cell, region, collateral, collateral_add, cpu, memory,
      bandwidth;
  std::vector<std::string> attrs, gpus, storage, keys;
  bool clear_attrs = false, clear_gpus = false, clear_storage = false, all = false;
  bool has_cell = false, has_region = false;
  TxArgs tx;
};

std::string KeyAddress(const crypto::KeyPair& key) { return crypto::AddressToBech32(crypto::AddressOf(key.pubkey)); }

Amount UdpaiOrThrow(const std::string& s, const char* what) {
  auto coins = ParseCoinsOrThrow(s, what);
  if (coins.list().size() != 1 || coins.list()[0].denom != x::provider::kBondDenom)
    throw CommandError{std::string(what) + " must be a single udpai amount, e.g. 5000000udpai"};
  return coins.list()[0].amount;
}

// Reads the [provider] table of a TOML file into `a` for every field not given as a flag.
// Degrees are strings ("52.52") so they are never parsed as floating point.
void LoadConfig(ProviderArgs& a) {
  if (a.config.empty()) return;
  toml::table t;
  try {
    t = toml::parse_file(a.config);
  } catch (const toml::parse_error& e) {
    throw CommandError{"--config " + a.config + ": " + std::string(e.description())};
  }
  auto* p = t["provider"].as_table();
  if (!p) throw CommandError{"--config " + a.config + ": no [provider] table"};
  auto str = [&](const char* name, std::string& out, bool* has = nullptr) {
    auto node = (*p)[name];
    if (!node) return;
    if (!out.empty()) return;  // the flag wins
    if (auto v = node.value<std::string>()) {
      out = *v;
    } else if (auto i = node.value<int64_t>(); i && node.is_integer()) {
      out = std::to_string(*i);
    } else {
      throw CommandError{"--config: provider." + std::string(name) + " must be a string" +
                         (std::string(name) == "lat" || std::string(name) == "lon" ? " such as \"52.52\"" : "")};
    }
    if (has) *has = true;
  };
  str("endpoint", a.endpoint);
  str("lat", a.lat);
  str("lon", a.lon);
  str("cell", a.cell, &a.has_cell);
  str("region", a.region, &a.has_region);
  str("cpu", a.cpu);
  str("memory_mib", a.memory);
  str("bandwidth_mbps", a.bandwidth);
  str("collateral", a.collateral);
  auto list = [&](const char* name, std::vector<std::string>& out) {
    auto node = (*p)[name];
    if (!node || !out.empty()) return;
    auto* arr = node.as_array();
    if (!arr) throw CommandError{"--config: provider." + std::string(name) + " must be an array of strings"};
    for (const auto& e : *arr) {
      auto v = e.value<std::string>();
      if (!v) throw CommandError{"--config: provider." + std::string(name) + " must be an array of strings"};
      out.push_back(*v);
    }
  };
  list("gpus", a.gpus);
  list("storage", a.storage);
  if (auto* attrs = (*p)["attributes"].as_table(); attrs && a.attrs.empty()) {
    for (const auto& [k, v] : *attrs) {
      auto s = v.value<std::string>();
      if (!s) throw CommandError{"--config: provider.attributes." + std::string(k.str()) + " must be a string"};
      a.attrs.push_back(std::string(k.str()) + "=" + *s);
    }
  }
}

void AddDetailFlags(CLI::App* cmd, ProviderArgs& a) {
  cmd->add_option("--config", a.config, "TOML file with a [provider] table (flags override it)");
  cmd->add_option("--endpoint", a.endpoint, "http(s)://host:port of `depai provider run`");
  cmd->add_option("--lat", a.lat, "Latitude in decimal degrees, e.g. 52.52");
  cmd->add_option("--lon", a.lon, "Longitude in decimal degrees, e.g. 13.405");
  cmd->add_option("--cell", a.cell, "Location cell (e.g. an H3 index)");
  cmd->add_option("--region", a.region, "Region, e.g. eu-west");
  cmd->add_option("--attr", a.attrs, "Attribute key=value (repeatable)");
  cmd->add_option("--cpu", a.cpu, "CPU millicores offered");
  cmd->add_option("--memory-mib", a.memory, "Memory offered (MiB)");
  cmd->add_option("--gpu", a.gpus, "GPUs vendor:model:count[:vram_mib[:interface]] (repeatable)");
  cmd->add_option("--storage", a.storage, "Storage class:size_mib (repeatable)");
  cmd->add_option("--bandwidth-mbps", a.bandwidth, "Bandwidth offered (Mbit/s)");
}

// Applies the given fields of `a` onto `d` (a list flag replaces the whole list).
void ApplyDetails(const ProviderArgs& a, client::ProviderDetails& d) {
  if (!a.endpoint.empty()) d.set_endpoint(a.endpoint);
  if (!a.lat.empty())
    d.mutable_location()->set_lat_e6(OrThrow(client::ParseMicroDegrees(a.lat, x::provider::kMaxLatE6, "--lat")));
  if (!a.lon.empty())
    d.mutable_location()->set_lon_e6(OrThrow(client::ParseMicroDegrees(a.lon, x::provider::kMaxLonE6, "--lon")));
  if (!a.cell.empty() || a.has_cell) d.mutable_location()->set_cell(a.cell);
  if (!a.region.empty() || a.has_region) d.set_region(a.region);
  if (!a.attrs.empty() || a.clear_attrs) {
    d.clear_attributes();
    for (const auto& s : a.attrs) {
      auto [k, v] = OrThrow(client::ParseAttribute(s));
      auto* attr = d.add_attributes();
      attr->set_key(k);
      attr->set_value(v);
    }
  }
  auto* r = d.mutable_resources();
  if (!a.cpu.empty()) r->set_cpu_millicores(OrThrow(client::ParseU64(a.cpu, "--cpu")));
  if (!a.memory.empty()) r->set_memory_mib(OrThrow(client::ParseU64(a.memory, "--memory-mib")));
  if (!a.bandwidth.empty()) r->set_bandwidth_mbps(OrThrow(client::ParseU64(a.bandwidth, "--bandwidth-mbps")));
  if (!a.gpus.empty() || a.clear_gpus) {
    r->clear_gpus();
    for (const auto& s : a.gpus) *r->add_gpus() = OrThrow(client::ParseGpu(s));
  }
  if (!a.storage.empty() || a.clear_storage) {
    r->clear_storage();
    for (const auto& s : a.storage) *r->add_storage() = OrThrow(client::ParseStorage(s));
  }
}

void ValidateDetailsOrThrow(const client::ProviderDetails& d) {
  OrThrow(x::provider::ValidateEndpoint(d.endpoint()));
  OrThrow(x::provider::ValidateLocation(d.location()));
  OrThrow(x::provider::ValidateRegion(d.region()));
  OrThrow(x::provider::ValidateAttributes(d.attributes(), "--attr", false));
  OrThrow(x::provider::ValidateResources(d.resources()));
}

std::string AddressArgOrThrow(const GlobalOptions& g, const std::string& who, const char* what) {
  try {
    return AddressOrKeyOrThrow(g, who);
  } catch (const CommandError& e) {
    throw CommandError{std::string(what) + ": " + e.message};
  }
}

pv::Provider ProviderFromJson(const json& j) {
  pv::Provider p;
  google::protobuf::util::JsonParseOptions o;
  o.ignore_unknown_fields = true;
  auto st = google::protobuf::util::JsonStringToMessage(j.dump(), &p, o);
  if (!st.ok()) throw CommandError{"unexpected provider JSON from the node: " + std::string(st.message())};
  return p;
}

std::string Degrees(int64_t e6) {
  std::string sign = e6 < 0 ? "-" : "";
  uint64_t v = e6 < 0 ? static_cast<uint64_t>(-(e6 + 1)) + 1 : static_cast<uint64_t>(e6);
  std::string frac = std::to_string(v % 1'000'000);
  frac = std::string(6 - frac.size(), '0') + frac;
  while (frac.size() > 1 && frac.back() == '0') frac.pop_back();
  return sign + std::to_string(v / 1'000'000) + "." + frac;
}

void PrintProvider(const json& p) {
  const auto& loc = p["location"];
  const auto& r = p["resources"];
  std::cout << "owner: " << p["owner"].get<std::string>() << "\nendpoint: " << p["endpoint"].get<std::string>()
            << "\nregion: " << p["region"].get<std::string>()
            << "\nlocation: " << Degrees(std::stoll(loc["lat_e6"].get<std::string>())) << ", "
            << Degrees(std::stoll(loc["lon_e6"].get<std::string>()))
            << (loc["cell"].get<std::string>().empty() ? "" : " (cell " + loc["cell"].get<std::string>() + ")")
            << "\ncollateral: " << p["collateral"].get<std::string>() << "udpai"
            << "\nregistered_height: " << p["registered_height"].get<std::string>()
            << "\nactive_leases: " << p["active_leases"].get<std::string>() << "\nresources: cpu "
            << r["cpu_millicores"].get<std::string>() << "m, memory " << r["memory_mib"].get<std::string>()
            << " MiB, bandwidth " << r["bandwidth_mbps"].get<std::string>() << " Mbit/s\n";
  for (const auto& gpu : r["gpus"])
    std::cout << "  gpu: " << gpu["count"] << " x " << gpu["vendor"].get<std::string>() << ":"
              << gpu["model"].get<std::string>() << " " << gpu["vram_mib"].get<std::string>() << " MiB "
              << gpu["interface"].get<std::string>() << "\n";
  for (const auto& s : r["storage"])
    std::cout << "  storage: " << s["storage_class"].get<std::string>() << " " << s["size_mib"].get<std::string>()
              << " MiB\n";
  if (!p["attributes"].empty()) std::cout << "attributes:\n";
  for (const auto& a : p["attributes"])
    std::cout << "  " << a["key"].get<std::string>() << "=" << a["value"].get<std::string>() << "\n";
}

}  // namespace

void RegisterProviderCommands(CLI::App& app, GlobalOptions& g) {
  auto* tx = app.get_subcommand("tx");
  auto* prov = tx->add_subcommand("provider", "x/provider transactions (the provider registry)");
  prov->require_subcommand(1);

  // ---- register ---------------------------------------------------------------------------
  {
    auto a = std::make_shared<ProviderArgs>();
    auto* cmd = prov->add_subcommand("register", "Register KEY as a provider and bond collateral");
    cmd->add_option("key", a->key, "Provider key name (or address) in the keyring")->required();
    AddDetailFlags(cmd, *a);
    cmd->add_option("--collateral", a->collateral, "Collateral to bond, e.g. 5000000udpai");
    AddTxFlags(cmd, a->tx);
    cmd->callback([&g, a] {
      LoadConfig(*a);
      if (a->endpoint.empty()) throw CommandError{"--endpoint is required (or endpoint in --config)"};
      if (a->collateral.empty()) throw CommandError{"--collateral is required, e.g. --collateral 5000000udpai"};
      client::ProviderDetails d;
      ApplyDetails(*a, d);
      ValidateDetailsOrThrow(d);
      Amount collateral = UdpaiOrThrow(a->collateral, "--collateral");
      if (collateral.is_zero()) throw CommandError{"--collateral must be positive"};
      ParseCoinsOrThrow(a->tx.fees, "--fees");
      auto key = LoadKeyOrThrow(g, a->key);
      std::string owner = KeyAddress(key);
      SignAndBroadcast(g, a->tx, key, owner, {client::PackMsgRegisterProvider(owner, d, collateral)},
                       "register provider " + owner + " at " + d.endpoint() + " bonding " + collateral.str() + "udpai");
    });
  }

  // ---- update -----------------------------------------------------------------------------
  {
    auto a = std::make_shared<ProviderArgs>();
    auto* cmd = prov->add_subcommand(
        "update", "Change KEY's registration: given fields replace the current ones (a list flag replaces the list)");
    cmd->add_option("key", a->key, "Provider key name (or address) in the keyring")->required();
    AddDetailFlags(cmd, *a);
    cmd->add_flag("--clear-attrs", a->clear_attrs, "Remove every attribute (unless --attr is given)");
    cmd->add_flag("--clear-gpus", a->clear_gpus, "Remove every GPU entry (unless --gpu is given)");
    cmd->add_flag("--clear-storage", a->clear_storage, "Remove every storage entry (unless --storage is given)");
    cmd->add_option("--collateral-add", a->collateral_add, "Collateral to bond on top, e.g. 1000000udpai");
    AddTxFlags(cmd, a->tx);
    cmd->callback([&g, a] {
      LoadConfig(*a);
      Amount add = a->collateral_add.empty() ? Amount() : UdpaiOrThrow(a->collateral_add, "--collateral-add");
      ParseCoinsOrThrow(a->tx.fees, "--fees");
      auto key = LoadKeyOrThrow(g, a->key);
      std::string owner = KeyAddress(key);
      json cur;
      try {
        cur = GetJsonOrThrow(g, "/q/provider/providers/" + owner);
      } catch (const CommandError& e) {
        throw CommandError{"cannot update " + owner + ": " + e.message};
      }
      client::ProviderDetails d = ProviderFromJson(cur["provider"]);
      ApplyDetails(*a, d);
      ValidateDetailsOrThrow(d);
      SignAndBroadcast(g, a->tx, key, owner, {client::PackMsgUpdateProvider(owner, d, add)},
                       "update provider " + owner + (add.is_zero() ? "" : " bonding " + add.str() + "udpai more"));
    });
  }

  // ---- deregister / heartbeat -------------------------------------------------------------
  {
    auto a = std::make_shared<ProviderArgs>();
    auto* cmd =
        prov->add_subcommand("deregister", "Deregister KEY; its collateral unbonds over params.unbonding_blocks");
    cmd->add_option("key", a->key, "Provider key name (or address) in the keyring")->required();
    AddTxFlags(cmd, a->tx);
    cmd->callback([&g, a] {
      ParseCoinsOrThrow(a->tx.fees, "--fees");
      auto key = LoadKeyOrThrow(g, a->key);
      std::string owner = KeyAddress(key);
      SignAndBroadcast(g, a->tx, key, owner, {client::PackMsgDeregisterProvider(owner)},
                       "deregister provider " + owner);
    });
  }
  {
    auto a = std::make_shared<ProviderArgs>();
    auto* cmd = prov->add_subcommand("heartbeat", "Send a signed heartbeat for KEY (counts once per heartbeat window)");
    cmd->add_option("key", a->key, "Provider key name (or address) in the keyring")->required();
    AddTxFlags(cmd, a->tx);
    cmd->callback([&g, a] {
      ParseCoinsOrThrow(a->tx.fees, "--fees");
      auto key = LoadKeyOrThrow(g, a->key);
      std::string owner = KeyAddress(key);
      SignAndBroadcast(g, a->tx, key, owner, {client::PackMsgProviderHeartbeat(owner)}, "heartbeat from " + owner);
    });
  }

  // ---- auditor attestations ---------------------------------------------------------------
  {
    auto a = std::make_shared<ProviderArgs>();
    auto* cmd =
        prov->add_subcommand("sign-attributes", "As auditor AUDITOR_KEY, vouch for attributes of PROVIDER_ADDR");
    cmd->add_option("auditor", a->key, "Auditor key name (or address) in the keyring")->required();
    cmd->add_option("provider", a->provider, "Provider depai1... address (or key name)")->required();
    cmd->add_option("--attr", a->attrs, "Attribute key=value to sign (repeatable)")->required();
    AddTxFlags(cmd, a->tx);
    cmd->callback([&g, a] {
      std::string provider = AddressArgOrThrow(g, a->provider, "provider");
      pv::Provider tmp;
      std::vector<std::pair<std::string, std::string>> attrs;
      for (const auto& s : a->attrs) {
        attrs.push_back(OrThrow(client::ParseAttribute(s)));
        auto* attr = tmp.add_attributes();
        attr->set_key(attrs.back().first);
        attr->set_value(attrs.back().second);
      }
      OrThrow(x::provider::ValidateAttributes(tmp.attributes(), "--attr", true));
      ParseCoinsOrThrow(a->tx.fees, "--fees");
      auto key = LoadKeyOrThrow(g, a->key);
      std::string auditor = KeyAddress(key);
      SignAndBroadcast(
          g, a->tx, key, auditor, {client::PackMsgSignProviderAttributes(auditor, provider, attrs)},
          "auditor " + auditor + " signs " + std::to_string(attrs.size()) + " attribute(s) of " + provider);
    });
  }
  {
    auto a = std::make_shared<ProviderArgs>();
    auto* cmd = prov->add_subcommand("delete-attributes",
                                     "As auditor AUDITOR_KEY, withdraw attested attributes of PROVIDER_ADDR");
    cmd->add_option("auditor", a->key, "Auditor key name (or address) in the keyring")->required();
    cmd->add_option("provider", a->provider, "Provider depai1... address (or key name)")->required();
    cmd->add_option("--key", a->keys, "Attribute key to withdraw (repeatable)");
    cmd->add_flag("--all", a->all, "Withdraw the whole attestation");
    AddTxFlags(cmd, a->tx);
    cmd->callback([&g, a] {
      if (a->keys.empty() == !a->all) throw CommandError{"give either --key (one or more) or --all"};
      std::string provider = AddressArgOrThrow(g, a->provider, "provider");
      for (const auto& k : a->keys) OrThrow(x::provider::ValidateAttributeKey(k, "--key"));
      ParseCoinsOrThrow(a->tx.fees, "--fees");
      auto key = LoadKeyOrThrow(g, a->key);
      std::string auditor = KeyAddress(key);
      SignAndBroadcast(g, a->tx, key, auditor, {client::PackMsgDeleteProviderAttributes(auditor, provider, a->keys)},
                       "auditor " + auditor + " withdraws " +
                           (a->all ? std::string("all attributes") : std::to_string(a->keys.size()) + " attribute(s)") +
                           " of " + provider);
    });
  }

  // ---- queries ----------------------------------------------------------------------------
  auto* q = app.get_subcommand("query");
  auto* qp = q->add_subcommand("provider", "x/provider queries");
  qp->require_subcommand(1);
  auto qa = std::make_shared<ProviderArgs>();
  qp->add_subcommand("list", "Every registered provider")->callback([&g] {
    auto j = GetJsonOrThrow(g, "/q/provider/providers");
    Print(g, j, [](const json& j) {
      if (j["providers"].empty()) std::cout << "(no providers)\n";
      for (const auto& p : j["providers"])
        std::cout << p["owner"].get<std::string>() << "  " << p["endpoint"].get<std::string>()
                  << "  region=" << (p["region"].get<std::string>().empty() ? "-" : p["region"].get<std::string>())
                  << "  collateral=" << p["collateral"].get<std::string>()
                  << "udpai  leases=" << p["active_leases"].get<std::string>() << "\n";
    });
  });
  auto* show = qp->add_subcommand("show", "One provider with its auditor attestations and uptime");
  show->add_option("address", qa->provider, "Provider depai1... address or key name")->required();
  show->callback([&g, qa] {
    std::string addr = AddressArgOrThrow(g, qa->provider, "provider");
    auto j = GetJsonOrThrow(g, "/q/provider/providers/" + addr);
    Print(g, j, [](const json& j) {
      PrintProvider(j["provider"]);
      std::cout << "uptime: " << j["uptime_bps"] << " bps at height " << j["height"].get<std::string>() << "\n";
      for (const auto& a : j["audits"]) {
        std::cout << "audit by " << a["auditor"].get<std::string>() << " at height " << a["height"].get<std::string>()
                  << ":\n";
        for (const auto& attr : a["attributes"])
          std::cout << "  " << attr["key"].get<std::string>() << "=" << attr["value"].get<std::string>() << "\n";
      }
    });
  });
  qp->add_subcommand("params", "x/provider parameters")->callback([&g] {
    auto j = GetJsonOrThrow(g, "/q/provider/params");
    Print(g, j, [](const json& j) {
      std::cout << "min_collateral: " << j["min_collateral"].get<std::string>()
                << "udpai\nunbonding_blocks: " << j["unbonding_blocks"].get<std::string>()
                << "\nheartbeat_window: " << j["heartbeat_window"].get<std::string>() << "\n";
    });
  });
}

}  // namespace depai::cli
