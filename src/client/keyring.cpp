#include "client/keyring.h"

#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "crypto/bech32.h"
#include "crypto/hash.h"

namespace depai::client {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {
Error KeysErr(uint32_t code, std::string msg) { return Error{"keys", code, std::move(msg)}; }

std::string Assoc(const std::string& name, const std::string& addr) { return "depai-key:" + name + ":" + addr; }

Result<json> ReadJson(const std::string& p) {
  std::ifstream f(p);
  if (!f) return KeysErr(2, "cannot read " + p);
  std::stringstream ss;
  ss << f.rdbuf();
  json j = json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("address") || !j.contains("pubkey"))
    return KeysErr(6, "corrupted key file " + p);
  return j;
}

Status WriteAtomic(const std::string& p, const std::string& content) {
  std::string tmp = p + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    if (!f) return KeysErr(1, "cannot write " + tmp);
    ::chmod(tmp.c_str(), 0600);
    f << content;
    f.flush();
    if (!f) return KeysErr(1, "cannot write " + tmp);
  }
  std::error_code ec;
  fs::rename(tmp, p, ec);
  if (ec) return KeysErr(1, "cannot rename " + tmp + ": " + ec.message());
  return {};
}

std::string ReadLine(bool echo_off) {
  termios old{};
  bool tty = echo_off && ::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &old) == 0;
  if (tty) {
    termios t = old;
    t.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &t);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::cerr << "\n";
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}
}  // namespace

bool ValidKeyName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(
             name.begin(), name.end(),
             [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'; }) &&
         name != "." && name != "..";
}

PassphraseFn DefaultPassphraseFn() {
  return [](const std::string& prompt, bool confirm) -> Result<std::string> {
    if (const char* env = std::getenv("DEPAI_KEYRING_PASSPHRASE")) return std::string(env);
    std::cerr << prompt << ": " << std::flush;
    std::string p = ReadLine(true);
    if (!std::cin) return KeysErr(4, "no passphrase given (stdin closed); set DEPAI_KEYRING_PASSPHRASE");
    if (confirm) {
      std::cerr << "Repeat the passphrase: " << std::flush;
      if (ReadLine(true) != p) return KeysErr(4, "passphrases do not match");
    }
    return p;
  };
}

Result<Keyring> Keyring::Open(const std::string& home, KeyringBackend backend, PassphraseFn passphrase,
                              crypto::KdfParams kdf) {
  std::string dir = home + (backend == KeyringBackend::kTest ? "/keyring-test" : "/keyring-file");
  return Keyring(dir, backend, std::move(passphrase), kdf);
}

Result<KeyInfo> Keyring::store(const std::string& name, const crypto::KeyPair& key, const std::string* passphrase) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return KeysErr(1, "cannot create " + dir_ + ": " + ec.message());
  ::chmod(dir_.c_str(), 0700);
  KeyInfo info{name, crypto::AddressToBech32(crypto::AddressOf(key.pubkey)), key.pubkey};
  json j{{"name", name}, {"address", info.address}, {"pubkey", crypto::Base64Encode(key.pubkey)}};
  if (backend_ == KeyringBackend::kTest) {
    j["seed_hex"] = HexEncode(key.seed);
  } else {
    std::string pass;
    if (passphrase) {
      pass = *passphrase;
    } else {
      auto p = passphrase_("Enter a keyring passphrase (at least 8 characters)", true);
      if (!p.ok()) return p.error();
      pass = p.value();
    }
    if (pass.size() < 8) return KeysErr(4, "the keyring passphrase must have at least 8 characters");
    j["keystore"] = json::parse(crypto::Encrypt(key.seed, pass, Assoc(name, info.address), kdf_));
  }
  DEPAI_TRY(WriteAtomic(path(name), j.dump(2) + "\n"));
  return info;
}

Result<KeyInfo> Keyring::add(const std::string& name, std::optional<Bytes> seed) {
  if (!ValidKeyName(name)) return KeysErr(5, "invalid key name '" + name + "': use 1-64 of [A-Za-z0-9_.-]");
  if (fs::exists(path(name))) return KeysErr(3, "key '" + name + "' already exists in " + dir_);
  crypto::KeyPair key;
  if (seed) {
    auto k = crypto::KeyFromSeed(*seed);
    if (!k) return KeysErr(6, "a seed must be 32 bytes");
    key = *k;
  } else {
    key = crypto::GenerateKey();
  }
  return store(name, key, nullptr);
}

Result<KeyInfo> Keyring::show(const std::string& name_or_address) const {
  if (name_or_address.rfind("depai1", 0) == 0) {
    for (const auto& k : list())
      if (k.address == name_or_address) return k;
    return KeysErr(2, "no key with address " + name_or_address + " in " + dir_);
  }
  if (!ValidKeyName(name_or_address)) return KeysErr(5, "invalid key name '" + name_or_address + "'");
  if (!fs::exists(path(name_or_address)))
    return KeysErr(2, "key '" + name_or_address + "' not found in " + dir_ + " (see `depai keys list`)");
  DEPAI_ASSIGN_OR_RETURN(auto j, ReadJson(path(name_or_address)));
  auto pk = crypto::Base64Decode(j.value("pubkey", ""));
  if (!pk) return KeysErr(6, "corrupted key file " + path(name_or_address));
  return KeyInfo{name_or_address, j.value("address", ""), *pk};
}

std::vector<KeyInfo> Keyring::list() const {
  std::vector<KeyInfo> out;
  std::error_code ec;
  if (!fs::is_directory(dir_, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    if (e.path().extension() != ".json") continue;
    std::string name = e.path().stem().string();
    if (!ValidKeyName(name)) continue;
    auto j = ReadJson(e.path().string());
    if (!j.ok()) continue;
    auto pk = crypto::Base64Decode(j->value("pubkey", ""));
    out.push_back(KeyInfo{name, j->value("address", ""), pk.value_or("")});
  }
  std::sort(out.begin(), out.end(), [](const KeyInfo& a, const KeyInfo& b) { return a.name < b.name; });
  return out;
}

Result<crypto::KeyPair> Keyring::load(const std::string& name_or_address) const {
  DEPAI_ASSIGN_OR_RETURN(auto info, show(name_or_address));
  DEPAI_ASSIGN_OR_RETURN(auto j, ReadJson(path(info.name)));
  Bytes seed;
  if (backend_ == KeyringBackend::kTest) {
    auto s = HexDecode(j.value("seed_hex", ""));
    if (!s) return KeysErr(6, "corrupted key file " + path(info.name));
    seed = *s;
  } else {
    if (!j.contains("keystore")) return KeysErr(6, "corrupted key file " + path(info.name));
    auto p = passphrase_("Enter the keyring passphrase for '" + info.name + "'", false);
    if (!p.ok()) return p.error();
    DEPAI_ASSIGN_OR_RETURN(seed, crypto::Decrypt(j["keystore"].dump(), p.value(), Assoc(info.name, info.address)));
  }
  auto k = crypto::KeyFromSeed(seed);
  if (!k || k->pubkey != info.pubkey)
    return KeysErr(6, "key file " + path(info.name) + " does not match its public key");
  return *k;
}

Result<std::string> Keyring::export_armor(const std::string& name, const std::string& export_passphrase) const {
  if (export_passphrase.size() < 8) return KeysErr(4, "the export passphrase must have at least 8 characters");
  DEPAI_ASSIGN_OR_RETURN(auto key, load(name));
  std::string addr = crypto::AddressToBech32(crypto::AddressOf(key.pubkey));
  json j{{"type", "depai-exported-key"},
         {"address", addr},
         {"keystore", json::parse(crypto::Encrypt(key.seed, export_passphrase, "depai-export:" + addr, kdf_))}};
  return j.dump(2);
}

Result<KeyInfo> Keyring::import_armor(const std::string& name, const std::string& armor,
                                      const std::string& passphrase) {
  if (!ValidKeyName(name)) return KeysErr(5, "invalid key name '" + name + "'");
  if (fs::exists(path(name))) return KeysErr(3, "key '" + name + "' already exists in " + dir_);
  json j = json::parse(armor, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("type", "") != "depai-exported-key" || !j.contains("keystore"))
    return KeysErr(6, "not a depai exported key");
  std::string addr = j.value("address", "");
  DEPAI_ASSIGN_OR_RETURN(auto seed, crypto::Decrypt(j["keystore"].dump(), passphrase, "depai-export:" + addr));
  auto k = crypto::KeyFromSeed(seed);
  if (!k || crypto::AddressToBech32(crypto::AddressOf(k->pubkey)) != addr)
    return KeysErr(6, "exported key does not match its address");
  return store(name, *k, nullptr);
}

Status Keyring::remove(const std::string& name) {
  DEPAI_ASSIGN_OR_RETURN(auto info, show(name));
  std::error_code ec;
  fs::remove(path(info.name), ec);
  if (ec) return KeysErr(1, "cannot delete " + path(info.name) + ": " + ec.message());
  return {};
}

}  // namespace depai::client
