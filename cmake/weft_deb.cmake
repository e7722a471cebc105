# The Debian package, weft_VERSION_ARCH.deb (`make deb`: CPack's DEB
# generator; docs/gateway.md, "Running as services (systemd)"). Besides
# `cmake --install`'s program and model, under /usr: the units in
# /lib/systemd/system, running /usr/bin/weft; their example settings as
# the conffiles /etc/default/weft-serve and weft-agent; the documentation
# and a copyright file in /usr/share/doc/weft; maintainer scripts from
# contrib/debian/. Those extra files are the component deb, left out of a
# plain `cmake --install` (EXCLUDE_FROM_ALL), which must not write /etc or
# /lib. scripts/deb_check.py checks the package.

# The units as contrib/systemd/ has them run /usr/local/bin/weft, where
# `cmake --install` puts it by default; the package's weft is /usr/bin/weft.
set(WEFT_DEB_DIR ${CMAKE_BINARY_DIR}/deb)
foreach(unit weft-serve.service weft-agent@.service)
  set(src ${CMAKE_SOURCE_DIR}/contrib/systemd/${unit})
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${src})
  file(READ ${src} text)
  string(FIND "${text}" "ExecStart=/usr/local/bin/weft " at)
  if(at LESS 0)
    message(FATAL_ERROR "${src}: no 'ExecStart=/usr/local/bin/weft ' line for the "
                        "package to point at /usr/bin/weft")
  endif()
  string(REPLACE "ExecStart=/usr/local/bin/weft " "ExecStart=/usr/bin/weft " text "${text}")
  file(CONFIGURE OUTPUT ${WEFT_DEB_DIR}/${unit} CONTENT "${text}" @ONLY)
endforeach()
install(FILES ${WEFT_DEB_DIR}/weft-serve.service ${WEFT_DEB_DIR}/weft-agent@.service
        DESTINATION /lib/systemd/system COMPONENT deb EXCLUDE_FROM_ALL)
install(FILES ${CMAKE_SOURCE_DIR}/contrib/systemd/weft-serve.default
        DESTINATION /etc/default RENAME weft-serve COMPONENT deb EXCLUDE_FROM_ALL)
install(FILES ${CMAKE_SOURCE_DIR}/contrib/systemd/weft-agent.default
        DESTINATION /etc/default RENAME weft-agent COMPONENT deb EXCLUDE_FROM_ALL)
# The documents keep the tree's layout, so their links to each other hold.
file(GLOB WEFT_DOCS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/*.md)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/contrib/debian/copyright
        DESTINATION share/doc/weft COMPONENT deb EXCLUDE_FROM_ALL)
install(FILES ${WEFT_DOCS} DESTINATION share/doc/weft/docs COMPONENT deb EXCLUDE_FROM_ALL)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME weft)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT
    "weft maintainers <maintainers@users.noreply.h-seed-30863143.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "coflow scheduler: simulator, learned policy, live gateway")
set(CPACK_PACKAGE_DESCRIPTION "weft schedules coflows of multi-stage jobs: \
weft sim compares the policies (the shipped learned model among them) on an \
emulated fabric, and weft serve and weft agent schedule a real one. The \
systemd units weft-serve.service and weft-agent@.service are installed but \
neither enabled nor started.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr)
# /lib/systemd/system and /etc/default are outside the prefix: installed
# under CPack's staging DESTDIR, not into this machine's /etc
set(CPACK_SET_DESTDIR ON)
# Debian ships programs stripped; the build's own weft keeps its debug info
set(CPACK_STRIP_FILES ON)
# one package of both components: `cmake --install`'s and deb
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
set(CPACK_COMPONENTS_ALL Unspecified deb)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# postinst's adduser; the units' ExecReload= runs /bin/kill (procps). The
# scripts' deb-systemd-helper and deb-systemd-invoke are init-system-helpers',
# Essential: yes, which Debian Policy 3.5 leaves out of Depends.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, procps")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_SOURCE_DIR}/contrib/debian/postinst
    ${CMAKE_SOURCE_DIR}/contrib/debian/prerm ${CMAKE_SOURCE_DIR}/contrib/debian/postrm
    ${CMAKE_SOURCE_DIR}/contrib/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
