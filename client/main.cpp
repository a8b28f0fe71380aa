#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "app_options.hpp"
#include "run_app.hpp"

int main(int argc, char** argv) {
  const char* no_color = std::getenv("NO_COLOR");
  auto parsed = chat::client::app::parse_app_options(
      argc, argv, std::cout, std::cerr, ::isatty(STDIN_FILENO) == 1, ::isatty(STDOUT_FILENO) == 1,
      no_color != nullptr && *no_color != '\0');
  if (const int* exit_code = std::get_if<int>(&parsed)) return *exit_code;
  return chat::client::app::run_app(std::get<chat::client::app::AppOptions>(parsed));
}
