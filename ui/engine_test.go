package ui

import "exbackup/engine"

// The real engine is what the console consumes (and offers its home folder
// for the default log file).
var (
	_ Engine = (*engine.Engine)(nil)
	_ homer  = (*engine.Engine)(nil)
)
