//go:build cgo

package inflate

import (
	"runtime"
	"testing"
)

// A libdeflate decompressor is C memory that nothing frees: one gunzip after another, with garbage
// collections between them, must reuse the same one rather than allocate a new one each time (as a
// sync.Pool, which drops its items at a collection, would). Control: the count of allocations is what
// the check reads; replacing the reuse with an allocation per call raises it to 50.
func TestDecompressorsAreReusedAcrossGarbageCollections(t *testing.T) {
	in := member(t, logFile(100), 6, nil)
	before := decompressors.allocated
	for range 50 {
		if _, err := Gunzip(nil, in, 1<<30); err != nil {
			t.Fatal(err)
		}
		runtime.GC()
	}
	if got := decompressors.allocated - before; got > 1 {
		t.Errorf("%d decompressors allocated for 50 gunzips one after another; want at most 1", got)
	}
}
