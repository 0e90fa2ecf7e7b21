//go:build !cgo

package inflate

// Engine names the gunzip in use; the tests read it to know which behaviour to expect.
const Engine = "klauspost/compress (built without cgo)"

func gunzip(dst, src []byte, limit int) ([]byte, error) { return gunzipGo(dst, src, limit) }
