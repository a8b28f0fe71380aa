# Every dependency is a Debian package; nothing is downloaded.
find_package(Threads REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(tomlplusplus REQUIRED)
find_package(doctest REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)

find_path(ASIO_INCLUDE_DIR asio.hpp REQUIRED)
add_library(asio INTERFACE)
target_include_directories(asio SYSTEM INTERFACE ${ASIO_INCLUDE_DIR})
# Asio picks aligned_alloc or operator new per translation unit, depending on which standard
# headers came first; pin one so allocation and deallocation always match.
target_compile_definitions(asio INTERFACE ASIO_STANDALONE ASIO_NO_DEPRECATED ASIO_DISABLE_STD_ALIGNED_ALLOC)
target_link_libraries(asio INTERFACE Threads::Threads)
if(CHAT_ASIO_IO_URING)
  # Asio's io_uring backend as its default (every socket and timer operation), for the figures in
  # BENCHMARKS.md; the shard's direct non-blocking send() stays a plain system call either way.
  pkg_check_modules(LIBURING REQUIRED IMPORTED_TARGET liburing)
  target_compile_definitions(asio INTERFACE ASIO_HAS_IO_URING ASIO_DISABLE_EPOLL)
  target_link_libraries(asio INTERFACE PkgConfig::LIBURING)
endif()
