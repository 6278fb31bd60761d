//go:build unix

package tape

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// destRoot creates folders and files under one destination folder by file
// descriptor (openat, mkdirat, renameat), each folder opened with
// O_NOFOLLOW: nothing is ever written through a symbolic link found under
// the destination, and no name can climb out of it.
type destRoot struct {
	path string
	fd   int
	dirs map[string]int // open folders by their path under the root
}

const maxOpenDirs = 128

func openDest(dir string) (*destRoot, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("destination folder: %w", err)
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("destination folder %s: %w", dir, err)
	}
	return &destRoot{path: dir, fd: fd, dirs: map[string]int{}}, nil
}

func (d *destRoot) close() {
	for _, fd := range d.dirs {
		unix.Close(fd)
	}
	d.dirs = nil
	unix.Close(d.fd)
}

func checkComponent(c string) error {
	if c == "" || c == "." || c == ".." || strings.ContainsAny(c, "/\x00") {
		return fmt.Errorf("name %q cannot be created", c)
	}
	return nil
}

// dir returns the folder at parts under the root, creating what is
// missing; a component that exists as anything but a real folder (a
// symbolic link included) is an error.
func (d *destRoot) dir(parts []string) (int, error) {
	if len(parts) == 0 {
		return d.fd, nil
	}
	key := strings.Join(parts, "/")
	if fd, ok := d.dirs[key]; ok {
		return fd, nil
	}
	parent, err := d.dir(parts[:len(parts)-1])
	if err != nil {
		return -1, err
	}
	name := parts[len(parts)-1]
	if err := checkComponent(name); err != nil {
		return -1, err
	}
	fd, err := openDir(parent, name)
	if errors.Is(err, unix.ENOENT) {
		if err = unix.Mkdirat(parent, name, 0o755); err == nil || errors.Is(err, unix.EEXIST) {
			fd, err = openDir(parent, name)
		}
	}
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
		return -1, fmt.Errorf("%s exists and is not a folder (a symbolic link is not followed)", filepath.Join(d.path, key))
	}
	if err != nil {
		return -1, fmt.Errorf("folder %s: %w", filepath.Join(d.path, key), err)
	}
	if len(d.dirs) >= maxOpenDirs {
		for k, v := range d.dirs {
			unix.Close(v)
			delete(d.dirs, k)
		}
	}
	d.dirs[key] = fd
	return fd, nil
}

func openDir(parent int, name string) (int, error) {
	for {
		fd, err := unix.Openat(parent, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// exists reports whether name is present in the folder, without following
// a symbolic link.
func exists(dfd int, name string) (bool, error) {
	var st unix.Stat_t
	err := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	return err == nil, err
}

// createTemp creates a new hidden file in the folder for name's data.
func createTemp(dfd int, name string) (*os.File, string, error) {
	for i := 0; ; i++ {
		tmp := fmt.Sprintf(".%s.%d.exbackup-part", shorten(name), os.Getpid()+i)
		fd, err := unix.Openat(dfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
		if errors.Is(err, unix.EEXIST) && i < 100 {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		return os.NewFile(uintptr(fd), tmp), tmp, nil
	}
}

// shorten keeps a temporary name within the 255 bytes a name may take.
func shorten(name string) string {
	if len(name) > 180 {
		return name[:180]
	}
	return name
}

func commit(dfd int, tmp, name string) error {
	return unix.Renameat(dfd, tmp, dfd, name)
}

func removeTemp(dfd int, tmp string) {
	unix.Unlinkat(dfd, tmp, 0)
}

// setFileTimes sets an open file's access and modification times.
func setFileTimes(f *os.File, atime, mtime time.Time) error {
	return unix.Futimes(int(f.Fd()), []unix.Timeval{unix.NsecToTimeval(atime.UnixNano()), unix.NsecToTimeval(mtime.UnixNano())})
}

// setDirTimes sets a folder's times, not following a symbolic link.
func setDirTimes(parent int, name string, atime, mtime time.Time) error {
	ts := []unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	return unix.UtimesNanoAt(parent, name, ts, unix.AT_SYMLINK_NOFOLLOW)
}
