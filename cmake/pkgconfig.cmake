# SPDX-License-Identifier: BSD-3-Clause
# Writes libdaxmap.pc at install time (install(CODE) in CMakeLists.txt sets
# DAXMAP_PC_IN, DAXMAP_PC_OUT, PROJECT_VERSION, DAXMAP_LIBDIR,
# DAXMAP_INCLUDEDIR and what a static link needs, DAXMAP_PC_REQUIRES_PRIVATE
# and DAXMAP_PC_LIBS_PRIVATE). At install time CMAKE_INSTALL_PREFIX is the prefix
# actually installed to (cmake --install --prefix), which the configure-time
# CMAKE_INSTALL_FULL_* dirs are not. A directory is made full as
# GNUInstallDirs does: an absolute one is taken as it is (never
# ${prefix}//abs/path), a relative one goes under the prefix.
foreach(dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${DAXMAP_${dir}}")
    set(DAXMAP_PC_${dir} "${DAXMAP_${dir}}")
  else()
    set(DAXMAP_PC_${dir} "\${prefix}/${DAXMAP_${dir}}")
  endif()
endforeach()
configure_file("${DAXMAP_PC_IN}" "${DAXMAP_PC_OUT}" @ONLY)
