#include "storage/rocks_status.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "rocksdb/status.h"

namespace ferry::storage {

absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  if (what.empty()) return absl::InternalError(absl::StrCat("storage: ", s.ToString()));
  return absl::InternalError(absl::StrCat("storage: ", std::string(what), ": ", s.ToString()));
}

}  // namespace ferry::storage
