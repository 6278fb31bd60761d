// Command exbackup is the backup console: the GUI with no arguments, an
// ntbackup-style command otherwise.
package main

import (
	"os"

	"exbackup/app"
)

func main() {
	os.Exit(app.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
