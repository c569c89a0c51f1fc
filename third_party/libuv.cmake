# Finds libuv and defines the target tcpecho::libuv. In order:
#  1. an installed CMake package (vcpkg, brew, a libuv built with CMake);
#  2. pkg-config (Debian/Ubuntu libuv1-dev ships no CMake package);
#  3. libuv built from source as a static library: a local tree given with
#     -DFETCHCONTENT_SOURCE_DIR_LIBUV=DIR, else the pinned release below.
# Giving FETCHCONTENT_SOURCE_DIR_LIBUV skips 1 and 2.

# v1.52.1; a commit pin is immutable, like a tarball with its hash.
set(TCPECHO_LIBUV_VERSION 1.52.1)
set(TCPECHO_LIBUV_COMMIT 1cfa32ff59c076ffb6ed735bbc8c18361558661f)
set(TCPECHO_LIBUV_MIN 1.44)

if(NOT FETCHCONTENT_SOURCE_DIR_LIBUV)
  find_package(libuv CONFIG QUIET)
  foreach(candidate libuv::uv_a libuv::uv uv_a uv)
    if(TARGET ${candidate})
      add_library(tcpecho::libuv INTERFACE IMPORTED)
      target_link_libraries(tcpecho::libuv INTERFACE ${candidate})
      message(STATUS "libuv: CMake package ${libuv_VERSION} (${candidate})")
      return()
    endif()
  endforeach()

  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(LIBUV QUIET IMPORTED_TARGET libuv>=${TCPECHO_LIBUV_MIN})
    if(LIBUV_FOUND)
      add_library(tcpecho::libuv ALIAS PkgConfig::LIBUV)
      message(STATUS "libuv: pkg-config ${LIBUV_VERSION}")
      return()
    endif()
  endif()

  if(NOT TCPECHO_FETCH_DEPS)
    message(FATAL_ERROR
      "libuv >= ${TCPECHO_LIBUV_MIN} not found. Install it (Debian/Ubuntu: "
      "apt-get install libuv1-dev pkg-config; macOS: brew install libuv; "
      "Windows: vcpkg install libuv), or build it from source with "
      "-DTCPECHO_FETCH_DEPS=ON or -DFETCHCONTENT_SOURCE_DIR_LIBUV=DIR.")
  endif()
  message(STATUS "libuv: not installed (Debian/Ubuntu: apt-get install "
                 "libuv1-dev); building v${TCPECHO_LIBUV_VERSION} from source")
else()
  message(STATUS "libuv: building from ${FETCHCONTENT_SOURCE_DIR_LIBUV}")
endif()

include(FetchContent)
FetchContent_Declare(libuv
  GIT_REPOSITORY https://github.com/libuv/libuv.git
  GIT_TAG ${TCPECHO_LIBUV_COMMIT})
# Only the static library: no shared library, tests or benchmarks.
set(LIBUV_BUILD_SHARED OFF CACHE BOOL "" FORCE)
set(LIBUV_BUILD_TESTS OFF CACHE BOOL "" FORCE)
set(LIBUV_BUILD_BENCH OFF CACHE BOOL "" FORCE)
FetchContent_MakeAvailable(libuv)
if(NOT TARGET uv_a)
  message(FATAL_ERROR "libuv from source did not define the target uv_a")
endif()
add_library(tcpecho::libuv ALIAS uv_a)
