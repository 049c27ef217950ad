// Atomic file writes (temporary file + fsync + rename). Used by the compiler
// for its outputs and by run-time code for NPY files and checkpoints.
//
// The bytes go first to an unnamed file in the destination's folder
// (O_TMPFILE): a process killed while writing leaves nothing at all. The
// complete file is then linked under a hidden, recognizable name,
// DIR/.NAME.nncc-tmp-XXXXXX, and renamed over the destination; only a kill in
// the instant between those two calls can leave that name behind. Where the
// file system has no O_TMPFILE, the hidden name is created with mkstemp.
#include "runtime/AtomicFile.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace nncc {

namespace {

std::string dirOf(const std::string &path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

bool writeAll(int fd, const std::string &bytes) {
  const char *p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    left -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

std::string atomicTempTemplate(const std::string &path) {
  size_t slash = path.find_last_of('/');
  size_t base = slash == std::string::npos ? 0 : slash + 1;
  return path.substr(0, base) + "." + path.substr(base) + ".nncc-tmp-XXXXXX";
}

bool writeFileAtomically(const std::string &path, const std::string &bytes, std::string &error) {
  mode_t mask = umask(0);
  umask(mask);
  const mode_t mode = 0666 & ~mask;
  std::string tmpl = atomicTempTemplate(path);
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');

  int fd = -1;
  bool unnamed = false;
#ifdef O_TMPFILE
  fd = ::open(dirOf(path).c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
  unnamed = fd >= 0;
#endif
  if (!unnamed) {
    fd = mkstemp(name.data());
    if (fd < 0) {
      error = "cannot create '" + path + "': " + std::strerror(errno);
      return false;
    }
  }
  auto fail = [&](const std::string &what) {
    error = what + " '" + path + "': " + std::strerror(errno);
    ::close(fd);
    if (!unnamed) ::unlink(name.data());
    return false;
  };
  if (!writeAll(fd, bytes)) return fail("cannot write");
  // mkstemp creates 0600; outputs get the usual 0644 (less the umask).
  if (!unnamed) fchmod(fd, mode);
  if (::fsync(fd) != 0) return fail("cannot write");
  if (unnamed) {
    // Give the complete file its hidden name: linkat through /proc, as
    // AT_EMPTY_PATH needs a capability. mkstemp picks the name (then it is
    // removed and the link made; a race only makes linkat fail with EEXIST).
    std::string proc = "/proc/self/fd/" + std::to_string(fd);
    bool linked = false;
    for (int attempt = 0; attempt < 100 && !linked; ++attempt) {
      std::vector<char> n(tmpl.begin(), tmpl.end());
      n.push_back('\0');
      int probe = mkstemp(n.data());
      if (probe < 0) break;
      ::close(probe);
      ::unlink(n.data());
      if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, n.data(), AT_SYMLINK_FOLLOW) == 0) {
        name = n;
        linked = true;
      } else if (errno != EEXIST) {
        break;
      }
    }
    if (!linked) {
      // No /proc: write the file again under a named temporary file.
      ::close(fd);
      fd = mkstemp(name.data());
      unnamed = false;
      if (fd < 0) {
        error = "cannot create '" + path + "': " + std::strerror(errno);
        return false;
      }
      if (!writeAll(fd, bytes)) return fail("cannot write");
      fchmod(fd, mode);
      if (::fsync(fd) != 0) return fail("cannot write");
    }
    unnamed = false;  // from here on a name exists and must be removed on failure
  }
  if (::close(fd) != 0) {
    error = "cannot write '" + path + "': " + std::strerror(errno);
    ::unlink(name.data());
    return false;
  }
  if (std::rename(name.data(), path.c_str()) != 0) {
    error = "cannot rename onto '" + path + "': " + std::strerror(errno);
    ::unlink(name.data());
    return false;
  }
  // Make the rename durable (best effort).
  int dfd = ::open(dirOf(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

}  // namespace nncc
