// One HTTP/1.0 request to 127.0.0.1 over a plain socket, for tests of ferryd's metrics
// endpoint: the server closes the connection after the body, so the body is everything after
// the headers. Every read and write has a deadline.
#ifndef FERRY_TESTS_INTEGRATION_HTTP_GET_H_
#define FERRY_TESTS_INTEGRATION_HTTP_GET_H_

#include <string>

#include "gtest/gtest.h"

namespace ferry::integration {

struct HttpResponse {
  int status = 0;
  std::string headers;  // the status line and headers, without the blank line
  std::string body;
};

// `method` `path` to 127.0.0.1:`port`; `extra_headers` are whole lines ("Name: value\r\n").
::testing::AssertionResult HttpGet(int port, const std::string& path, HttpResponse* out,
                                   const std::string& method = "GET",
                                   const std::string& extra_headers = "");

// The body of GET `path`, or "" when the request fails.
std::string HttpGetBody(int port, const std::string& path);

}  // namespace ferry::integration

#endif  // FERRY_TESTS_INTEGRATION_HTTP_GET_H_
