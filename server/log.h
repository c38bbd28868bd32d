// Structured logging: one line per event on stderr, with a timestamp, a level and key=value
// fields, e.g. `2026-11-25T12:00:00.000Z level=info event=topic_created topic=orders`.
// Thread-safe.
#ifndef FERRY_SERVER_LOG_H_
#define FERRY_SERVER_LOG_H_

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace ferry::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void SetLevel(Level level);
// Accepts debug, info, warn, error.
bool ParseLevel(std::string_view text, Level* level);
bool Enabled(Level level);

using Field = std::pair<std::string_view, std::string>;
void Event(Level level, std::string_view event, std::initializer_list<Field> fields = {});

}  // namespace ferry::log

#endif  // FERRY_SERVER_LOG_H_
