// A temporary directory for one test, removed when the test ends.
#ifndef FERRY_TESTS_UNIT_TEMP_DIR_H_
#define FERRY_TESTS_UNIT_TEMP_DIR_H_

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace ferry::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ferry-unit-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace ferry::testing

#endif  // FERRY_TESTS_UNIT_TEMP_DIR_H_
