// TempDir: a fresh directory under the system temp dir (normally /tmp) for one benchmark's
// database, removed with everything in it when the object is destroyed. Not thread-safe.
#ifndef FERRY_BENCH_TEMP_DIR_H_
#define FERRY_BENCH_TEMP_DIR_H_

#include <stdlib.h>  // mkdtemp

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace ferry::bench {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ferry-bench-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      std::perror("ferry bench: mkdtemp");
      std::abort();
    }
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace ferry::bench

#endif  // FERRY_BENCH_TEMP_DIR_H_
