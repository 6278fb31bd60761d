//go:build !unix

package mtf

import "time"

// cpuTime is not measured here.
func cpuTime() time.Duration { return 0 }
