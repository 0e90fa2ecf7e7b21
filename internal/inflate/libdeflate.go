//go:build cgo

package inflate

// The C sources under libdeflate/ are libdeflate 1.25 (https://github.com/ebiggers/libdeflate, tag v1.25,
// commit c8c56a20f8f621e6a966b716b31f1dedab6a41e3, MIT licence in libdeflate/COPYING): the files its
// gzip decompressor needs, copied unchanged (libdeflate/SHA256SUMS; TestVendoredLibdeflateIsUnchanged).
// The ld_*.c files compile them as libdeflate's own build does, one translation unit each.

/*
#cgo CFLAGS: -O2 -I${SRCDIR}/libdeflate
#include "libdeflate.h"
*/
import "C"

import (
	"encoding/binary"
	"sync"
	"unsafe"
)

// Engine names the gunzip in use; the tests read it to know which behaviour to expect.
const Engine = "libdeflate 1.25 (cgo)"

// decompressors are the idle libdeflate decompressors (C memory, tens of KB of tables each, one user at a
// time). They are kept for good: a sync.Pool would drop them at a garbage collection without freeing
// them, and a long replay would leak one per collection. There are never more than goroutines that
// gunzipped at once (replay's workers).
var decompressors struct {
	sync.Mutex
	idle      []*C.struct_libdeflate_decompressor
	allocated int // for the test that none is lost
}

func getDecompressor() *C.struct_libdeflate_decompressor {
	decompressors.Lock()
	defer decompressors.Unlock()
	if n := len(decompressors.idle); n > 0 {
		d := decompressors.idle[n-1]
		decompressors.idle = decompressors.idle[:n-1]
		return d
	}
	decompressors.allocated++
	return C.libdeflate_alloc_decompressor()
}

func putDecompressor(d *C.struct_libdeflate_decompressor) {
	decompressors.Lock()
	decompressors.idle = append(decompressors.idle, d)
	decompressors.Unlock()
}

func gunzip(dst, src []byte, limit int) ([]byte, error) {
	if len(src) < 18 { // header and trailer of one member
		return dst, errNotGzip
	}
	d := getDecompressor()
	if d == nil {
		return dst, errNotGzip // out of memory: the streaming reader may still manage
	}
	defer putDecompressor(d)
	start := len(dst)
	end := start + limit // dst never grows past this
	// The last member's ISIZE (its length modulo 2^32) is the exact size of a file of one member, as
	// CloudTrail writes them; the buffer grows if it proves short. ISIZE is the file's word, read before
	// anything is checked, so a claim past 64 to 1 (CloudTrail's JSON compresses 12 to 31 to 1) is not
	// believed: a small file cannot make a worker set aside the whole limit.
	want := min(int(binary.LittleEndian.Uint32(src[len(src)-4:])), 64*len(src))
	for len(src) > 0 {
		if !headerOK(src) {
			return dst[:start], errNotGzip
		}
		for {
			if room := min(cap(dst), end) - len(dst); room < want && cap(dst) < end {
				grown := make([]byte, len(dst), min(end, len(dst)+max(want, cap(dst)-start, 64<<10)))
				copy(grown, dst)
				dst = grown
			}
			out := dst[len(dst):min(cap(dst), end)]
			var outPtr unsafe.Pointer
			if len(out) > 0 {
				outPtr = unsafe.Pointer(&out[0])
			}
			var in, n C.size_t
			r := C.libdeflate_gzip_decompress_ex(d, unsafe.Pointer(&src[0]), C.size_t(len(src)), outPtr, C.size_t(len(out)), &in, &n)
			if r == C.LIBDEFLATE_SUCCESS {
				dst, src = dst[:len(dst)+int(n)], src[in:]
				break
			}
			if r != C.LIBDEFLATE_INSUFFICIENT_SPACE {
				return dst[:start], errNotGzip
			}
			if cap(dst) >= end {
				return dst[:start], ErrTooLarge
			}
			want = 2*len(out) + 64<<10
		}
		want = 64 << 10
	}
	return dst, nil
}
