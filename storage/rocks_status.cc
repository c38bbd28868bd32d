#include "storage/rocks_status.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "rocksdb/status.h"

namespace ferry::storage {
namespace {

// The payload that marks a storage write failure; its value is unused.
constexpr char kWriteFailureUrl[] = "type.ferry.dev/storage.WriteFailure";

absl::Status Marked(absl::Status s) {
  s.SetPayload(kWriteFailureUrl, absl::Cord("1"));
  return s;
}

}  // namespace

absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  const std::string message =
      what.empty() ? absl::StrCat("storage: ", s.ToString())
                   : absl::StrCat("storage: ", std::string(what), ": ", s.ToString());
  if (s.IsNoSpace()) return Marked(absl::ResourceExhaustedError(message));
  if (s.IsIOError()) return Marked(absl::InternalError(message));
  return absl::InternalError(message);
}

absl::Status WriteFailure(const rocksdb::Status& s, std::string_view data_dir) {
  const std::string dir(data_dir);
  if (s.IsNoSpace()) {
    return Marked(absl::ResourceExhaustedError(
        absl::StrCat("no space left on the data dir ", dir,
                     ": writes are refused until space is freed (", s.ToString(), ")")));
  }
  return Marked(absl::UnavailableError(
      absl::StrCat("the data dir ", dir, " failed a write: writes are refused until it recovers (",
                   s.ToString(), ")")));
}

bool IsStorageWriteFailure(const absl::Status& s) {
  return !s.ok() && s.GetPayload(kWriteFailureUrl).has_value();
}

}  // namespace ferry::storage
