//go:build !linux

package tape

func settle()          {}
func dropCaches() bool { return false }
