//go:build cgo

// One translation unit of the vendored libdeflate (see libdeflate.go), compiled by cgo as libdeflate's own
// build compiles it.
#include "libdeflate/lib/arm/cpu_features.c"
