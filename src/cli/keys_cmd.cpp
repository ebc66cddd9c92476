#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "cli/keys_util.h"
#include "crypto/bech32.h"
#include "crypto/hash.h"

namespace depai::cli {

using nlohmann::json;

client::Keyring OpenKeyringOrThrow(const GlobalOptions& g) {
  auto backend = g.keyring_backend == "file" ? client::KeyringBackend::kFile : client::KeyringBackend::kTest;
  auto kr = client::Keyring::Open(g.home, backend, client::DefaultPassphraseFn());
  if (!kr.ok()) throw CommandError{kr.error().message};
  return std::move(kr).value();
}

crypto::KeyPair LoadKeyOrThrow(const GlobalOptions& g, const std::string& name_or_address) {
  auto kr = OpenKeyringOrThrow(g);
  auto k = kr.load(name_or_address);
  if (!k.ok()) throw CommandError{k.error().message};
  return k.value();
}

std::string AddressOrKeyOrThrow(const GlobalOptions& g, const std::string& s) {
  if (s.rfind("depai1", 0) == 0) {  // key names never start with the address prefix
    auto a = crypto::AddressFromBech32(s);
    if (!a.ok()) throw CommandError{a.error().message};
    return s;
  }
  auto kr = OpenKeyringOrThrow(g);
  auto info = kr.show(s);
  if (!info.ok()) throw CommandError{"'" + s + "' is neither a depai1... address nor a key: " + info.error().message};
  return info->address;
}

std::string SignerAddress(const GlobalOptions& g, const crypto::KeyPair& key) {
  if (g.wallet.empty()) return crypto::AddressToBech32(crypto::AddressOf(key.pubkey));
  auto a = crypto::AddressFromBech32(g.wallet);
  if (!a.ok()) throw CommandError{"--wallet: " + a.error().message};
  return g.wallet;
}

namespace {
json InfoJson(const client::KeyInfo& k) {
  return json{{"name", k.name}, {"address", k.address}, {"pubkey", crypto::Base64Encode(k.pubkey)}};
}

void PrintInfo(const GlobalOptions& g, const client::KeyInfo& k) {
  if (g.output == "json")
    std::cout << InfoJson(k).dump() << "\n";
  else
    std::cout << "- name: " << k.name << "\n  address: " << k.address
              << "\n  pubkey: " << crypto::Base64Encode(k.pubkey) << "\n";
}

std::string ReadAll(std::istream& in) {
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

void RegisterKeysCommands(CLI::App& app, GlobalOptions& g) {
  auto* keys = app.add_subcommand("keys", "Manage the keyring (ed25519 keys, depai1... addresses)");
  keys->require_subcommand(1);

  struct Args {
    std::string name, file;
    bool recover = false, address_only = false;
  };
  auto a = std::make_shared<Args>();

  auto* add = keys->add_subcommand("add", "Create a new key (or --recover one from a 64-hex seed on stdin)");
  add->add_option("name", a->name, "Key name")->required();
  add->add_flag("--recover", a->recover, "Read a 32-byte seed as 64 hex characters from stdin");
  add->callback([&g, a] {
    auto kr = OpenKeyringOrThrow(g);
    std::optional<Bytes> seed;
    if (a->recover) {
      std::cerr << "Enter the seed (64 hex characters): " << std::flush;
      std::string line;
      std::getline(std::cin, line);
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      auto s = HexDecode(line);
      if (!s || s->size() != 32) throw CommandError{"the seed must be 64 hex characters (32 bytes)"};
      seed = *s;
    }
    auto info = kr.add(a->name, seed);
    if (!info.ok()) throw CommandError{info.error().message};
    PrintInfo(g, *info);
    if (g.output != "json" && kr.backend() == client::KeyringBackend::kTest)
      std::cerr << "note: the test keyring stores keys UNENCRYPTED in " << kr.dir()
                << "; use --keyring-backend file for real funds\n";
  });

  auto* list = keys->add_subcommand("list", "List keys");
  list->callback([&g] {
    auto kr = OpenKeyringOrThrow(g);
    auto ks = kr.list();
    if (g.output == "json") {
      json arr = json::array();
      for (const auto& k : ks) arr.push_back(InfoJson(k));
      std::cout << arr.dump() << "\n";
    } else {
      if (ks.empty()) std::cout << "no keys in " << kr.dir() << "\n";
      for (const auto& k : ks) PrintInfo(g, k);
    }
  });

  auto* show = keys->add_subcommand("show", "Show a key by name or address");
  show->add_option("name", a->name, "Key name or address")->required();
  show->add_flag("-a,--address", a->address_only, "Print only the address");
  show->callback([&g, a] {
    auto kr = OpenKeyringOrThrow(g);
    auto info = kr.show(a->name);
    if (!info.ok()) throw CommandError{info.error().message};
    if (a->address_only)
      std::cout << info->address << "\n";
    else
      PrintInfo(g, *info);
  });

  auto* exp = keys->add_subcommand("export", "Print a key encrypted with an export passphrase (argon2id + AEAD)");
  exp->add_option("name", a->name, "Key name")->required();
  exp->callback([&g, a] {
    auto kr = OpenKeyringOrThrow(g);
    if (!kr.show(a->name).ok()) throw CommandError{kr.show(a->name).error().message};
    auto pass = client::DefaultPassphraseFn()("Enter an export passphrase (at least 8 characters)", true);
    if (!pass.ok()) throw CommandError{pass.error().message};
    auto armor = kr.export_armor(a->name, pass.value());
    if (!armor.ok()) throw CommandError{armor.error().message};
    std::cout << armor.value() << "\n";
  });

  auto* imp = keys->add_subcommand("import", "Import a key exported with `depai keys export`");
  imp->add_option("name", a->name, "New key name")->required();
  imp->add_option("file", a->file, "File with the exported key")->required();
  imp->callback([&g, a] {
    auto kr = OpenKeyringOrThrow(g);
    std::ifstream f(a->file);
    if (!f) throw CommandError{"cannot read " + a->file};
    std::string armor = ReadAll(f);
    auto pass = client::DefaultPassphraseFn()("Enter the export passphrase", false);
    if (!pass.ok()) throw CommandError{pass.error().message};
    auto info = kr.import_armor(a->name, armor, pass.value());
    if (!info.ok()) throw CommandError{info.error().message};
    PrintInfo(g, *info);
  });

  auto* del = keys->add_subcommand("delete", "Delete a key (asks for confirmation unless --yes)");
  del->add_option("name", a->name, "Key name")->required();
  del->callback([&g, a] {
    auto kr = OpenKeyringOrThrow(g);
    auto info = kr.show(a->name);
    if (!info.ok()) throw CommandError{info.error().message};
    if (!g.yes) {
      std::cerr << "Delete key '" << info->name << "' (" << info->address << ")? [y/N] " << std::flush;
      std::string line;
      std::getline(std::cin, line);
      if (line != "y" && line != "Y" && line != "yes") throw CommandError{"aborted: key not deleted"};
    }
    auto st = kr.remove(a->name);
    if (!st.ok()) throw CommandError{st.error().message};
    if (g.output == "json")
      std::cout << json{{"deleted", info->name}}.dump() << "\n";
    else
      std::cout << "deleted key '" << info->name << "'\n";
  });
}

}  // namespace depai::cli
