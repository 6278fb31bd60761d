//go:build !linux

package wire

// threadCPU is not measured here.
func threadCPU() int64 { return 0 }
