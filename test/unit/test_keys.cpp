// bech32 against the BIP-173 test vectors, depai addresses, the keystore and the keyring.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>

#include "client/keyring.h"
#include "crypto/bech32.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "crypto/keystore.h"

using namespace depai;

namespace {
std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
}  // namespace

// BIP-173 "Test vectors": valid Bech32 strings.
TEST(Bech32, Bip173ValidVectors) {
  const std::string valid[] = {
      "A12UEL5L",
      "a12uel5l",
      "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
      "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
      "11" + std::string(82, 'q') + "c8247j",
      "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
      "?1ezyfcl",
  };
  for (const auto& v : valid) {
    auto d = crypto::Bech32Decode(v);
    ASSERT_TRUE(d.ok()) << v << ": " << d.error().message;
    EXPECT_LE(v.size(), 90u);
    EXPECT_EQ(crypto::Bech32Encode(d->hrp, d->data5), Lower(v)) << v;
  }
}

// BIP-173 invalid Bech32 strings (with the reason given in the BIP).
TEST(Bech32, Bip173InvalidVectors) {
  const std::string invalid[] = {
      std::string("\x20") + "1nwldj5",  // HRP character out of range
      std::string("\x7f") + "1axkwrx",  // HRP character out of range
      std::string("\x80") + "1eym55h",  // HRP character out of range
      "an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1569pvx",  // overall max
                                                                                                      // length exceeded
      "pzry9x0s0muk",                    // no separator character
      "1pzry9x0s0muk",                   // empty HRP
      "x1b4n0q5v",                       // invalid data character
      "li1dgmt3",                        // too short checksum
      std::string("de1lg7wt") + "\xff",  // invalid character in checksum
      "A1G7SGD8",                        // checksum calculated with uppercase form of HRP
      "10a06t8",                         // empty HRP
      "1qzzfhee",                        // empty HRP
  };
  for (const auto& v : invalid) EXPECT_FALSE(crypto::Bech32Decode(v).ok()) << v;
  EXPECT_FALSE(crypto::Bech32Decode("A12uEL5L").ok());  // mixed case
}

TEST(Bech32, DepaiAddressRoundTrip) {
  Bytes addr(20, '\0');
  for (int i = 0; i < 20; ++i) addr[i] = static_cast<char>(i * 13);
  std::string s = crypto::AddressToBech32(addr);
  EXPECT_EQ(s.rfind("depai1", 0), 0u);
  EXPECT_EQ(crypto::AddressFromBech32(s).value(), addr);
  // Upper case is the same address; wrong prefix, wrong length and a flipped char are not.
  std::string upper = s;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(crypto::AddressFromBech32(upper).value(), addr);
  auto d = crypto::Bech32Decode(s).value();
  EXPECT_FALSE(crypto::AddressFromBech32(crypto::Bech32Encode("cosmos", d.data5)).ok());
  auto short5 = *crypto::ConvertBits(std::vector<uint8_t>(19, 1), 8, 5, true);
  EXPECT_FALSE(crypto::AddressFromBech32(crypto::Bech32Encode("depai", short5)).ok());
  std::string flipped = s;
  flipped[10] = flipped[10] == 'q' ? 'p' : 'q';
  auto r = crypto::AddressFromBech32(flipped);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, 7u);
  EXPECT_FALSE(crypto::AddressFromBech32("").ok());
}

TEST(Keystore, RoundTripAndWrongPassphrase) {
  crypto::InitCrypto();
  Bytes secret = crypto::Sha256("secret seed");
  auto armor = crypto::Encrypt(secret, "correct horse", "name:alice", crypto::FastKdfParams());
  EXPECT_EQ(armor.find(HexEncode(secret)), std::string::npos);
  auto back = crypto::Decrypt(armor, "correct horse", "name:alice");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back.value(), secret);
  auto wrong = crypto::Decrypt(armor, "wrong horse", "name:alice");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().codespace, "keys");
  EXPECT_EQ(wrong.error().code, 4u);
  // Associated data is authenticated: the file cannot be moved to another key name.
  EXPECT_FALSE(crypto::Decrypt(armor, "correct horse", "name:bob").ok());
}

TEST(Keystore, TamperedCiphertextRejected) {
  crypto::InitCrypto();
  auto armor = crypto::Encrypt("0123456789abcdef0123456789abcdef", "passphrase1", "ad", crypto::FastKdfParams());
  auto pos = armor.find("\"ciphertext\":\"") + 14;
  armor[pos] = armor[pos] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(crypto::Decrypt(armor, "passphrase1", "ad").ok());
  EXPECT_FALSE(crypto::Decrypt("not json", "passphrase1", "ad").ok());
}

namespace {
struct TempHome {
  std::filesystem::path p =
      std::filesystem::temp_directory_path() / ("depai-keys-" + std::to_string(::getpid()) + "-" +
                                                ::testing::UnitTest::GetInstance()->current_test_info()->name());
  TempHome() { std::filesystem::remove_all(p); }
  ~TempHome() { std::filesystem::remove_all(p); }
};
client::PassphraseFn Fixed(std::string s) {
  return [s](const std::string&, bool) -> Result<std::string> { return s; };
}
}  // namespace

TEST(Keyring, TestBackendLifecycle) {
  crypto::InitCrypto();
  TempHome h;
  auto kr = client::Keyring::Open(h.p.string(), client::KeyringBackend::kTest, Fixed("")).value();
  auto a = kr.add("alice");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->address.rfind("depai1", 0), 0u);
  EXPECT_EQ(kr.add("alice").error().code, 3u);  // duplicate
  EXPECT_EQ(kr.add("bad/name").error().code, 5u);
  EXPECT_EQ(kr.add("").error().code, 5u);
  ASSERT_TRUE(kr.add("bob", crypto::Sha256("bob seed")).ok());
  auto list = kr.list();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "alice");
  EXPECT_EQ(kr.show(a->address)->name, "alice");  // by address
  auto key = kr.load("alice").value();
  EXPECT_EQ(crypto::AddressToBech32(crypto::AddressOf(key.pubkey)), a->address);
  EXPECT_EQ(kr.load("carol").error().code, 2u);
  ASSERT_TRUE(kr.remove("alice").ok());
  EXPECT_EQ(kr.show("alice").error().code, 2u);
  EXPECT_EQ(kr.list().size(), 1u);
}

TEST(Keyring, FileBackendEncryptsAtRest) {
  crypto::InitCrypto();
  TempHome h;
  auto kr = client::Keyring::Open(h.p.string(), client::KeyringBackend::kFile, Fixed("a good passphrase"),
                                  crypto::FastKdfParams())
                .value();
  Bytes seed = crypto::Sha256("file seed");
  auto info = kr.add("carol", seed).value();
  std::ifstream f(h.p / "keyring-file" / "carol.json");
  std::string content((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content.find(HexEncode(seed)), std::string::npos) << "seed must not be stored in clear";
  EXPECT_NE(content.find("argon2id"), std::string::npos);
  auto perms = std::filesystem::status(h.p / "keyring-file" / "carol.json").permissions();
  EXPECT_EQ(perms & std::filesystem::perms::others_read, std::filesystem::perms::none);
  EXPECT_EQ(kr.load("carol")->seed, seed);
  auto wrong = client::Keyring::Open(h.p.string(), client::KeyringBackend::kFile, Fixed("not the passphrase"),
                                     crypto::FastKdfParams())
                   .value();
  EXPECT_TRUE(wrong.show("carol").ok());  // list/show need no passphrase
  auto r = wrong.load("carol");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, 4u);
  auto weak =
      client::Keyring::Open(h.p.string(), client::KeyringBackend::kFile, Fixed("short"), crypto::FastKdfParams())
          .value();
  EXPECT_FALSE(weak.add("dave").ok());
  EXPECT_FALSE(std::filesystem::exists(h.p / "keyring-file" / "dave.json"));
}

TEST(Keyring, ExportImport) {
  crypto::InitCrypto();
  TempHome h;
  auto kr =
      client::Keyring::Open(h.p.string(), client::KeyringBackend::kTest, Fixed(""), crypto::FastKdfParams()).value();
  auto info = kr.add("alice").value();
  auto armor = kr.export_armor("alice", "export pass 1").value();
  EXPECT_FALSE(kr.export_armor("alice", "short").ok());
  auto bad = kr.import_armor("alice2", armor, "wrong pass 12");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, 4u);
  EXPECT_FALSE(std::filesystem::exists(h.p / "keyring-test" / "alice2.json")) << "a failed import must create nothing";
  auto ok = kr.import_armor("alice2", armor, "export pass 1");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->address, info.address);
  EXPECT_EQ(kr.import_armor("alice2", armor, "export pass 1").error().code, 3u);
}
