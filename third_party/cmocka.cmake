# Finds cmocka (tests only) and defines the target tcpecho::cmocka. In order:
#  1. an installed CMake package: cmocka >= 1.1.6 exports cmocka::cmocka,
#     Debian 12's 1.1.5 sets CMOCKA_INCLUDE_DIR / CMOCKA_LIBRARY instead;
#  2. pkg-config;
#  3. cmocka built from source as a static library: a local tree given with
#     -DFETCHCONTENT_SOURCE_DIR_CMOCKA=DIR, else the release tarball below.

set(TCPECHO_CMOCKA_VERSION 1.1.7)
set(TCPECHO_CMOCKA_URL
    https://cmocka.org/files/1.1/cmocka-${TCPECHO_CMOCKA_VERSION}.tar.xz)
set(TCPECHO_CMOCKA_SHA256
    810570eb0b8d64804331f82b29ff47c790ce9cd6b163e98d47a4807047ecad82)

if(NOT FETCHCONTENT_SOURCE_DIR_CMOCKA)
  find_package(cmocka CONFIG QUIET)
  if(TARGET cmocka::cmocka)
    add_library(tcpecho::cmocka INTERFACE IMPORTED)
    target_link_libraries(tcpecho::cmocka INTERFACE cmocka::cmocka)
    message(STATUS "cmocka: CMake package ${cmocka_VERSION}")
    return()
  endif()
  if(CMOCKA_LIBRARY OR CMOCKA_LIBRARIES)
    add_library(tcpecho::cmocka INTERFACE IMPORTED)
    target_include_directories(tcpecho::cmocka INTERFACE
      ${CMOCKA_INCLUDE_DIR} ${CMOCKA_INCLUDE_DIRS})
    target_link_libraries(tcpecho::cmocka INTERFACE
      ${CMOCKA_LIBRARY} ${CMOCKA_LIBRARIES})
    message(STATUS "cmocka: CMake package ${cmocka_VERSION} (variables)")
    return()
  endif()

  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(CMOCKA QUIET IMPORTED_TARGET cmocka)
    if(CMOCKA_FOUND)
      add_library(tcpecho::cmocka ALIAS PkgConfig::CMOCKA)
      message(STATUS "cmocka: pkg-config ${CMOCKA_VERSION}")
      return()
    endif()
  endif()

  if(NOT TCPECHO_FETCH_DEPS)
    message(FATAL_ERROR
      "cmocka not found (needed for the tests). Install it (Debian/Ubuntu: "
      "apt-get install libcmocka-dev; macOS: brew install cmocka; Windows: "
      "vcpkg install cmocka), build it from source with "
      "-DTCPECHO_FETCH_DEPS=ON or -DFETCHCONTENT_SOURCE_DIR_CMOCKA=DIR, or "
      "configure with -DTCPECHO_BUILD_TESTS=OFF.")
  endif()
  message(STATUS "cmocka: not installed (Debian/Ubuntu: apt-get install "
                 "libcmocka-dev); building ${TCPECHO_CMOCKA_VERSION} from "
                 "source")
else()
  message(STATUS "cmocka: building from ${FETCHCONTENT_SOURCE_DIR_CMOCKA}")
endif()

include(FetchContent)
FetchContent_Declare(cmocka
  URL ${TCPECHO_CMOCKA_URL}
  URL_HASH SHA256=${TCPECHO_CMOCKA_SHA256})
# A static library: 1.1.6+ follow BUILD_SHARED_LIBS; 1.1.5 (Debian 12)
# always builds a shared one and adds cmocka-static with WITH_STATIC_LIB.
set(CMAKE_POLICY_DEFAULT_CMP0077 NEW)
set(BUILD_SHARED_LIBS OFF)
set(WITH_STATIC_LIB ON CACHE BOOL "" FORCE)
set(WITH_EXAMPLES OFF CACHE BOOL "" FORCE)
set(UNIT_TESTING OFF CACHE BOOL "" FORCE)
set(PICKY_DEVELOPER OFF CACHE BOOL "" FORCE)
FetchContent_MakeAvailable(cmocka)
foreach(candidate cmocka-static cmocka_static cmocka)
  if(TARGET ${candidate})
    get_target_property(type ${candidate} TYPE)
    if(type STREQUAL "STATIC_LIBRARY")
      add_library(tcpecho::cmocka ALIAS ${candidate})
      return()
    endif()
  endif()
endforeach()
message(FATAL_ERROR "cmocka from source defined no static library target")
