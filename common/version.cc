#include "common/version.h"

namespace ferry::version {

std::string Line(const std::string& program) {
  return program + " " + Version() + " (revision " + Revision() + ", " + BuildType() + " build)";
}

}  // namespace ferry::version
