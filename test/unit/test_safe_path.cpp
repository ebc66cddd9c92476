// util/safe_path: confinement beneath a directory against links, "..", hard links and FIFOs.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "util/safe_path.h"

namespace fs = std::filesystem;
using namespace depai;

namespace {

struct Dirs {
  fs::path base, root, outside;
  Dirs() {
    base = fs::temp_directory_path() / ("depai-safe-" + std::to_string(::getpid()) + "-" + std::to_string(rand()));
    root = base / "root";
    outside = base / "outside";
    fs::create_directories(root);
    fs::create_directories(outside);
    std::ofstream(outside / "secret") << "key material";
  }
  ~Dirs() { fs::remove_all(base); }
  UniqueFd RootFd() const { return std::move(OpenDirectory(root.string())).value(); }
};

std::string Slurp(int fd) {
  std::string s;
  char buf[256];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) s.append(buf, static_cast<size_t>(n));
  return s;
}

}  // namespace

TEST(SafePath, CleanRelative) {
  EXPECT_EQ(CleanRelative("./a//b/./c/"), "a/b/c");
  EXPECT_EQ(CleanRelative("out/route.json"), "out/route.json");
  EXPECT_FALSE(CleanRelative("/etc/passwd"));
  EXPECT_FALSE(CleanRelative("a/../../b"));
  EXPECT_FALSE(CleanRelative(".."));
  EXPECT_FALSE(CleanRelative("./"));
  EXPECT_FALSE(CleanRelative(""));
  EXPECT_FALSE(CleanRelative(std::string_view("a\0b", 3)));
}

TEST(SafePath, OpenBeneathRefusesLinksAndDotDot) {
  Dirs d;
  auto root = d.RootFd();
  fs::create_directories(d.root / "out");
  std::ofstream(d.root / "out" / "ok.txt") << "fine";
  fs::create_symlink("/", d.root / "slash");
  fs::create_symlink(d.outside / "secret", d.root / "out" / "link.txt");
  fs::create_directory_symlink(d.outside, d.root / "dirlink");

  auto ok = OpenBeneath(root.get(), "out/ok.txt", O_RDONLY);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(Slurp(ok->get()), "fine");

  for (const char* bad : {"slash/etc/passwd", "out/link.txt", "dirlink/secret", "../outside/secret", "/etc/passwd",
                          "out/../../outside/secret"}) {
    auto r = OpenBeneath(root.get(), bad, O_RDONLY);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, 1u) << bad << ": " << r.error().message;
    }
  }
  // Creating through a link is refused as well, and nothing appears outside.
  EXPECT_FALSE(WriteFileBeneath(root.get(), "dirlink/planted", "x").ok());
  EXPECT_FALSE(fs::exists(d.outside / "planted"));
  EXPECT_FALSE(WriteFileBeneath(root.get(), "out/link.txt", "overwritten").ok());
  std::ifstream in(d.outside / "secret");
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(s, "key material");
}

TEST(SafePath, MkdirsAndWrite) {
  Dirs d;
  auto root = d.RootFd();
  ASSERT_TRUE(WriteFileBeneath(root.get(), "a/b/c.txt", "hello").ok());
  std::ifstream in(d.root / "a" / "b" / "c.txt");
  std::string s;
  in >> s;
  EXPECT_EQ(s, "hello");
  fs::create_directory_symlink(d.outside, d.root / "a" / "evil");
  auto r = MkdirsBeneath(root.get(), "a/evil/x");
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(fs::exists(d.outside / "x"));
}

TEST(SafePath, CopyFileOutRefusesHardLinksFifosAndLinks) {
  Dirs d;
  auto root = d.RootFd();
  auto dst = std::move(OpenDirectory(d.outside.string())).value();
  std::ofstream(d.root / "result.bin") << "payload";
  auto n = CopyFileOut(root.get(), "result.bin", dst.get(), "copies/result.bin");
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(*n, 7u);
  EXPECT_TRUE(fs::exists(d.outside / "copies" / "result.bin"));

  fs::create_hard_link(d.outside / "secret", d.root / "hard.bin");
  auto h = CopyFileOut(root.get(), "hard.bin", dst.get(), "copies/hard.bin");
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.error().message.find("hard links"), std::string::npos) << h.error().message;

  ASSERT_EQ(::mkfifo((d.root / "fifo").c_str(), 0600), 0);
  auto f = CopyFileOut(root.get(), "fifo", dst.get(), "copies/fifo");
  EXPECT_FALSE(f.ok());

  fs::create_symlink(d.outside / "secret", d.root / "sym.bin");
  EXPECT_FALSE(CopyFileOut(root.get(), "sym.bin", dst.get(), "copies/sym.bin").ok());

  std::ofstream(d.root / "big.bin") << std::string(100, 'x');
  EXPECT_FALSE(CopyFileOut(root.get(), "big.bin", dst.get(), "copies/big.bin", 10).ok());
}

TEST(SafePath, SymlinkStaysInside) {
  EXPECT_TRUE(SymlinkStaysInside("a/b", "../c"));
  EXPECT_TRUE(SymlinkStaysInside("usr/bin/python3", "python3.11"));
  EXPECT_TRUE(SymlinkStaysInside("etc/localtime", "/usr/share/zoneinfo/UTC"));
  EXPECT_FALSE(SymlinkStaysInside("a", "../../etc"));
  EXPECT_FALSE(SymlinkStaysInside("a/b", "../x/../../.."));
  EXPECT_FALSE(SymlinkStaysInside("link", ".."));
  EXPECT_FALSE(SymlinkStaysInside("link", ""));
}

TEST(SafePath, RemoveTreeDoesNotFollowLinks) {
  Dirs d;
  fs::create_directories(d.root / "x" / "y");
  std::ofstream(d.root / "x" / "y" / "f") << "1";
  fs::create_directory_symlink(d.outside, d.root / "x" / "out");
  ::chmod((d.root / "x" / "y").c_str(), 0);
  ASSERT_TRUE(RemoveTree(d.root.string()).ok());
  EXPECT_FALSE(fs::exists(d.root));
  EXPECT_TRUE(fs::exists(d.outside / "secret"));
}
