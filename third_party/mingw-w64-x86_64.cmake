# CMake toolchain file: cross-compile for 64-bit Windows with mingw-w64
# (Debian: gcc-mingw-w64-x86-64-win32), statically linked, and run the
# tests under wine (Debian: wine, wine64) when it is installed.
#
#   cmake -S . -B build-win \
#     -DCMAKE_TOOLCHAIN_FILE=third_party/mingw-w64-x86_64.cmake \
#     -DFETCHCONTENT_SOURCE_DIR_LIBUV=... -DFETCHCONTENT_SOURCE_DIR_CMOCKA=...

set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(TCPECHO_MINGW_PREFIX x86_64-w64-mingw32)
find_program(CMAKE_C_COMPILER NAMES ${TCPECHO_MINGW_PREFIX}-gcc-win32
                                    ${TCPECHO_MINGW_PREFIX}-gcc REQUIRED)
find_program(CMAKE_RC_COMPILER NAMES ${TCPECHO_MINGW_PREFIX}-windres)

# Libraries and headers only from the mingw-w64 sysroot, never the host's.
set(CMAKE_FIND_ROOT_PATH /usr/${TCPECHO_MINGW_PREFIX})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(ENV{PKG_CONFIG_LIBDIR} /usr/${TCPECHO_MINGW_PREFIX}/lib/pkgconfig)

# One self-contained .exe: no libgcc or winpthread DLLs to ship.
set(CMAKE_EXE_LINKER_FLAGS_INIT -static)

find_program(TCPECHO_WINE NAMES wine wine64)
if(TCPECHO_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${TCPECHO_WINE})
endif()
