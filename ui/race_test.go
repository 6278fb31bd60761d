//go:build race

package ui

// raceEnabled: the race detector slows the software painter tenfold.
const raceEnabled = true
