package app

import (
	"errors"

	"exbackup/engine"
)

func runGUI(eng *engine.Engine) error {
	return errors.New("this build has no GUI yet: use the commands (exbackup --help)")
}
