# libFuzzer build (preset `fuzz`, NIGHTJAR_FUZZ=ON; clang only). See docs/fuzzing.md.
#
# Every library is compiled with coverage instrumentation for libFuzzer plus ASan and UBSan
# (which abort on the first error, so that libFuzzer records the input), and every
# src/<module>/<name>_fuzz.cc becomes an executable <name>_fuzz linked with libFuzzer's
# main() and with nightjar_<module>, the library of the code it drives. The target
# `fuzzers` builds them all and nothing else.
#
# Included from CMakeLists.txt before the libraries are declared, so that the flags below
# reach them; target_link_libraries() resolves nightjar_<module> when the build system is
# generated, after the libraries exist.

if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "NIGHTJAR_FUZZ needs clang (libFuzzer): use the `fuzz` preset")
endif()
if(NIGHTJAR_SANITIZE)
  message(FATAL_ERROR "NIGHTJAR_FUZZ brings its own sanitizers; leave NIGHTJAR_SANITIZE empty")
endif()

add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                    -fno-sanitize-recover=all)
add_link_options(-fsanitize=address,undefined)

file(GLOB nj_fuzz_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/*/*_fuzz.cc)
add_custom_target(fuzzers)
foreach(src IN LISTS nj_fuzz_sources)
  get_filename_component(name ${src} NAME_WE)
  get_filename_component(module_dir ${src} DIRECTORY)
  get_filename_component(module ${module_dir} NAME)
  add_executable(${name} ${src})
  target_link_libraries(${name} PRIVATE nightjar_${module})
  target_include_directories(${name} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/tests/fuzz)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  add_dependencies(fuzzers ${name})
endforeach()
