//go:build !unix

package tape

import (
	"errors"
	"os"
	"time"
)

var errNoExtract = errors.New("extracting files needs a Unix system")

type destRoot struct{ fd int }

func openDest(string) (*destRoot, error)                  { return nil, errNoExtract }
func (d *destRoot) close()                                {}
func (d *destRoot) dir([]string) (int, error)             { return -1, errNoExtract }
func exists(int, string) (bool, error)                    { return false, errNoExtract }
func createTemp(int, string) (*os.File, string, error)    { return nil, "", errNoExtract }
func commit(int, string, string) error                    { return errNoExtract }
func removeTemp(int, string)                              {}
func setFileTimes(*os.File, time.Time, time.Time) error   { return errNoExtract }
func setDirTimes(int, string, time.Time, time.Time) error { return errNoExtract }
