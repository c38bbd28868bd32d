// Ferry's version, the git revision it was built from, and the build type; for --version,
// ferry_build_info and log lines.
#pragma once

#include <string>

namespace ferry::version {

const char* Version();    // "0.1.0", the project's version in CMakeLists.txt
const char* Revision();   // short git hash, "-dirty" when built from a modified tree, or "unknown"
const char* BuildType();  // CMAKE_BUILD_TYPE, e.g. "RelWithDebInfo"

// "<program> <version> (revision <rev>, <build type> build)", the line --version prints.
std::string Line(const std::string& program);

}  // namespace ferry::version
