# chat_warnings: link PRIVATE to every target whose sources we own.
add_library(chat_warnings INTERFACE)
target_compile_options(chat_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Wunused -Woverloaded-virtual -Wconversion -Wno-sign-conversion
  -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
# GCC 12 reports Asio's coroutine frame allocator (operator new/delete on awaitable_frame_base) as
# mismatched under sanitizers: a false positive in a system header we cannot change.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(chat_warnings INTERFACE -Wno-mismatched-new-delete)
endif()
# On in every preset (CI builds with them): a warning fails the build.
option(CHAT_WERROR "Treat compiler warnings as errors" OFF)
if(CHAT_WERROR)
  target_compile_options(chat_warnings INTERFACE -Werror)
endif()
