// util/files: atomic writes (and their errors), query-string parameters, percent-decoding.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "util/files.h"

using namespace depai;

TEST(UtilFiles, WriteFileAtomicReplacesAndReportsErrors) {
  auto dir = std::filesystem::temp_directory_path() / ("depai-files-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "state.json").string();
  ASSERT_TRUE(WriteFileAtomic(path, "first").ok());
  ASSERT_TRUE(WriteFileAtomic(path, "second").ok());
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_EQ(ss.str(), "second");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  auto bad = WriteFileAtomic((dir / "no-such-dir" / "x").string(), "data");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().codespace, "io");
  EXPECT_NE(bad.error().message.find("no-such-dir"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(UtilFiles, QueryParamAndPctDecode) {
  EXPECT_EQ(QueryParam("/events?from_height=5&type=market.order_created", "type"), "market.order_created");
  EXPECT_EQ(QueryParam("/events?from_height=5&type=x", "from_height"), "5");
  EXPECT_EQ(QueryParam("/logs?follow&stream=stderr", "follow"), "1");
  EXPECT_EQ(QueryParam("/logs?stream=stderr", "follow"), "");
  EXPECT_EQ(QueryParam("/no-query", "a"), "");
  EXPECT_EQ(QueryParam("/x?a=&b=2", "a"), "");
  EXPECT_EQ(QueryParam("/x?ab=1", "a"), "");
  EXPECT_EQ(PctDecode("a%2Bb%20c"), "a+b c");
  EXPECT_EQ(PctDecode("100%"), "100%");
  EXPECT_EQ(PctDecode("%zz%4"), "%zz%4");
  EXPECT_EQ(PctDecode("%4a%4A"), "JJ");
}
