# SPDX-License-Identifier: BSD-3-Clause
# bench/kvstore: the kvstore example against LMDB (Debian: liblmdb-dev).
# Without LMDB the benchmark is left out of the build.
find_path(LMDB_INCLUDE_DIR lmdb.h)
find_library(LMDB_LIBRARY lmdb)
if(LMDB_INCLUDE_DIR AND LMDB_LIBRARY)
  add_executable(bench_kvstore kvstore.c)
  set_target_properties(bench_kvstore PROPERTIES OUTPUT_NAME kvstore)
  target_include_directories(bench_kvstore PRIVATE ${LMDB_INCLUDE_DIR})
  target_link_libraries(bench_kvstore PRIVATE kvstore benchutil ${LMDB_LIBRARY})
else()
  message(STATUS "bench/kvstore skipped: LMDB not found (install liblmdb-dev)")
endif()
