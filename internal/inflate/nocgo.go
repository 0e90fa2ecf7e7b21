//go:build !cgo

package inflate

// Engine names the gunzip in use, for docs/replay.md's figures and the benchmark's output.
const Engine = "klauspost/compress (built without cgo)"

func gunzip(dst, src []byte, limit int) ([]byte, error) { return gunzipGo(dst, src, limit) }
