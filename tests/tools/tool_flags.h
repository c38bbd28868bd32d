// Flags of the test tools (ferry_test_consumer, ferry_handover_member): `--name=value`.
#ifndef FERRY_TESTS_TOOLS_TOOL_FLAGS_H_
#define FERRY_TESTS_TOOLS_TOOL_FLAGS_H_

#include <string>

namespace ferry::tools {

// The value of `--name=...`, or `fallback` when absent.
inline std::string Flag(int argc, char** argv, const std::string& name,
                        const std::string& fallback) {
  const std::string prefix = "--" + name + "=";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.starts_with(prefix)) return arg.substr(prefix.size());
  }
  return fallback;
}

}  // namespace ferry::tools

#endif  // FERRY_TESTS_TOOLS_TOOL_FLAGS_H_
