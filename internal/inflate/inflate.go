// Package inflate gunzips a log file that is held whole in memory, for kmsguard-replay. Built with cgo (the
// default wherever a C compiler is found) it uses libdeflate, vendored under libdeflate/, which inflates
// CloudTrail's JSON about three times as fast as the pure-Go klauspost/compress does (docs/replay.md,
// "Performance"); without cgo it uses klauspost/compress.
//
// Gunzip is a fast path, not a second gunzip with its own idea of valid input: for every stream a compressor
// writes, whatever it returns without an error is what klauspost/compress's gzip reader (multistream, as
// replay has always read) returns for the same bytes, without an error. Input it is unsure of (a header
// feature the klauspost reader checks and libdeflate does not, an output over the limit, any damage) is an
// error, and the caller then reads the file through the streaming reader as before, which reports the damage
// where it is. FuzzGunzip holds Gunzip to that. Known and left (docs/replay.md, "Performance"): a deflate
// stream that RFC 1951 does not allow but libdeflate reads and Go's inflater rejects (the reserved length
// symbols 286 and 287 and distance codes 30 and 31; more than 286 length or 30 distance codes in a block
// header; a codeword an incomplete Huffman code leaves unused). No compressor writes one; a hand-made file
// that does, with a CRC-32 that matches what libdeflate read, is read instead of being reported damaged.
package inflate

import (
	"bytes"
	"errors"
	"io"

	"github.com/klauspost/compress/gzip"
)

// ErrTooLarge is Gunzip's error for output that would pass its limit.
var ErrTooLarge = errors.New("inflate: output over the limit")

// errNotGzip is Gunzip's error for input the fast path does not take (damage, or a header it leaves to
// the streaming reader).
var errNotGzip = errors.New("inflate: not a gzip stream the fast path takes")

// Gunzip appends to dst the decompressed content of src (every gzip member of it in turn) and returns the
// extended slice. On an error the returned slice holds what dst held, perhaps in a new array (dst's spare
// capacity may have been written). limit (at most MaxLimit; less than 0 counts as 0) bounds the bytes
// appended: it keeps a gzip bomb from taking the memory of a whole file.
func Gunzip(dst, src []byte, limit int) ([]byte, error) {
	return gunzip(dst, src, min(max(limit, 0), MaxLimit))
}

// MaxLimit is the largest limit Gunzip takes (1 TiB); a larger one is lowered to it.
const MaxLimit = 1 << 40

// Gunzip with klauspost/compress: the streaming reader read to its end, the fallback without cgo and the
// yardstick of FuzzGunzip.
func gunzipGo(dst, src []byte, limit int) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(src))
	if err != nil {
		return dst, err
	}
	buf := bytes.NewBuffer(dst)
	n, err := io.Copy(buf, io.LimitReader(zr, int64(limit)+1))
	if err != nil {
		return dst, err
	}
	if n > int64(limit) {
		return dst, ErrTooLarge
	}
	return buf.Bytes(), nil
}

// The gzip header's flag bits (RFC 1952, section 2.3.1).
const (
	flagText    = 1 << 0
	flagHdrCrc  = 1 << 1
	flagExtra   = 1 << 2
	flagName    = 1 << 3
	flagComment = 1 << 4
)

// headerOK reports whether the gzip member at the start of src has a header that klauspost/compress's
// reader accepts and that libdeflate reads the same way: magic bytes and deflate, no reserved flag, no
// header CRC (libdeflate skips it, klauspost checks it), and a name and comment no longer than the 512
// bytes, terminator included, that klauspost reads. Anything else goes to the streaming reader.
func headerOK(src []byte) bool {
	if len(src) < 10 || src[0] != 0x1f || src[1] != 0x8b || src[2] != 8 {
		return false
	}
	flg := src[3]
	if flg&^(flagText|flagExtra|flagName|flagComment) != 0 {
		return false
	}
	rest := src[10:]
	if flg&flagExtra != 0 {
		if len(rest) < 2 {
			return false
		}
		n := 2 + (int(rest[0]) | int(rest[1])<<8)
		if len(rest) < n {
			return false
		}
		rest = rest[n:]
	}
	for _, f := range []byte{flagName, flagComment} {
		if flg&f == 0 {
			continue
		}
		i := bytes.IndexByte(rest[:min(len(rest), 512)], 0)
		if i < 0 {
			return false
		}
		rest = rest[i+1:]
	}
	return true
}
