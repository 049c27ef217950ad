// runtime/AtomicFile: complete replacement or nothing, and no temporary file
// left behind on success or failure (docs/reliability.md).
#include "runtime/AtomicFile.h"

#include <gtest/gtest.h>

#include <dirent.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace nncc {
namespace {

class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nncc-atomic-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    for (const std::string &n : entries()) ::unlink((dir_ + "/" + n).c_str());
    ::rmdir((dir_ + "/sub").c_str());
    ::rmdir(dir_.c_str());
  }
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    DIR *d = opendir(dir_.c_str());
    if (!d) return out;
    while (dirent *e = readdir(d))
      if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") out.push_back(e->d_name);
    closedir(d);
    return out;
  }
  static std::string read(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::string dir_;
};

TEST_F(AtomicFileTest, WritesAndReplacesWithNothingLeftBehind) {
  std::string path = dir_ + "/model.o", error;
  ASSERT_TRUE(writeFileAtomically(path, "first version, long", error)) << error;
  EXPECT_EQ(read(path), "first version, long");
  ASSERT_TRUE(writeFileAtomically(path, "second", error)) << error;
  EXPECT_EQ(read(path), "second");
  EXPECT_EQ(entries(), std::vector<std::string>{"model.o"});
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  mode_t mask = umask(0);
  umask(mask);
  EXPECT_EQ(st.st_mode & 0777, 0666 & ~mask);
}

TEST_F(AtomicFileTest, LargeFile) {
  std::string path = dir_ + "/big.bin", error, bytes(16 << 20, 'x');
  bytes[12345] = 'y';
  ASSERT_TRUE(writeFileAtomically(path, bytes, error)) << error;
  EXPECT_EQ(read(path), bytes);
}

TEST_F(AtomicFileTest, MissingFolderFailsCleanly) {
  std::string error;
  EXPECT_FALSE(writeFileAtomically(dir_ + "/nothere/model.o", "x", error));
  EXPECT_NE(error.find("nothere"), std::string::npos) << error;
  EXPECT_NE(error.find("No such file or directory"), std::string::npos) << error;
  EXPECT_TRUE(entries().empty());
}

TEST_F(AtomicFileTest, DirectoryTargetFailsAndLeavesNoTemporary) {
  std::string error;
  ASSERT_EQ(mkdir((dir_ + "/sub").c_str(), 0755), 0);
  EXPECT_FALSE(writeFileAtomically(dir_ + "/sub", "x", error));
  EXPECT_EQ(error, "cannot rename onto '" + dir_ + "/sub': Is a directory");
  EXPECT_EQ(entries(), std::vector<std::string>{"sub"});
}

TEST_F(AtomicFileTest, UnwritableFolderFailsCleanly) {
  if (geteuid() == 0) GTEST_SKIP() << "root writes anywhere";
  std::string error;
  ASSERT_EQ(chmod(dir_.c_str(), 0500), 0);
  EXPECT_FALSE(writeFileAtomically(dir_ + "/model.o", "x", error));
  EXPECT_NE(error.find("Permission denied"), std::string::npos) << error;
  ASSERT_EQ(chmod(dir_.c_str(), 0700), 0);
  EXPECT_TRUE(entries().empty());
}

TEST(AtomicFileName, HiddenRecognizableTemporaryName) {
  EXPECT_EQ(atomicTempTemplate("out/model.o"), "out/.model.o.nncc-tmp-XXXXXX");
  EXPECT_EQ(atomicTempTemplate("model.h"), ".model.h.nncc-tmp-XXXXXX");
  EXPECT_EQ(atomicTempTemplate("/abs/dir/m.ll"), "/abs/dir/.m.ll.nncc-tmp-XXXXXX");
}

}  // namespace
}  // namespace nncc
