# Writes OUTPUT, a C file defining `const char SYMBOL[]` (the bytes of INPUT, NUL-terminated) and
# `const size_t SYMBOL_len`. Run as: cmake -DINPUT=... -DOUTPUT=... -DSYMBOL=... -P embed_file.cmake
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_len)
math(EXPR len "${hex_len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
string(REGEX REPLACE "(('[^']*',){16})" "\\1\n    " bytes "${bytes}")
file(WRITE "${OUTPUT}"
    "/* Generated from ${INPUT} by cmake/embed_file.cmake; do not edit. */\n"
    "#include <stddef.h>\n\n"
    "const char ${SYMBOL}[] = {\n    ${bytes}'\\0'};\n"
    "const size_t ${SYMBOL}_len = ${len};\n")
