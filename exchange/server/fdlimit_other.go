//go:build !unix

package server

func fileLimit() uint64 { return 8192 }
