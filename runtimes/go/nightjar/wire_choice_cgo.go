//go:build nightjar_wire_choice

// What the alternative to generated Go code would cost: the C side of a cgo binding, for
// wire_choice_test.go (docs/runtimes.md, "Why generated code and not a C library"). Built
// only with -tags nightjar_wire_choice and cgo on; never part of a function.
package nightjar

/*
#include <stdint.h>
#include <string.h>
static void nj_copy_header(void* dst, const void* src) { memcpy(dst, src, 64); }
static uint64_t nj_read_u64(const void* msg, int offset) {
  uint64_t v;
  memcpy(&v, (const char*)msg + offset, 8);
  return v;
}
*/
import "C"

import "unsafe"

func cCopyHeader(dst, src []byte) {
	C.nj_copy_header(unsafe.Pointer(&dst[0]), unsafe.Pointer(&src[0]))
}

func cReadU64(msg []byte, offset int) uint64 {
	return uint64(C.nj_read_u64(unsafe.Pointer(&msg[0]), C.int(offset)))
}
