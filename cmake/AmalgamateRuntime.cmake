# cmake -DOUTPUT=file -DFILES="a,b,..." -DJSMN=/usr/include/jsmn.h -P AmalgamateRuntime.cmake
# Concatenates the model runtime's headers and sources into one text that a
# generated model.cpp carries (docs/codegen.md, "-o model.cpp"): the
# project's own #include "..." lines and <HalideRuntime.h> are dropped (their
# content is in the text, or in Halide's C++ output that comes first), and
# <jsmn.h> is replaced by the system header's text, so the generated source
# needs no header beyond the C and POSIX ones.
file(READ "${JSMN}" jsmn_text)
set(out "/* The nncc model runtime, amalgamated. Do not edit. */\n")
string(REPLACE "," ";" files "${FILES}")
foreach(f ${files})
  file(READ "${f}" text)
  string(REGEX REPLACE "#include \"[A-Za-z_]+\\.h\"" "/* (included above) */" text "${text}")
  string(REPLACE "#include <HalideRuntime.h>" "/* HalideRuntime.h: in Halide's output above */" text "${text}")
  string(REPLACE "#include <jsmn.h>" "${jsmn_text}" text "${text}")
  get_filename_component(name "${f}" NAME)
  string(APPEND out "\n/* ---- ${name} ---- */\n${text}")
endforeach()
file(WRITE "${OUTPUT}" "${out}")
