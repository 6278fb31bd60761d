//go:build !linux

package mtf

import "time"

func threadTime() time.Duration { return 0 }
