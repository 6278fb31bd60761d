package app_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// End-to-end tests of the console's command line against real exserver
// processes on loopback: both binaries are built once, as a user runs them.

var bins struct{ exbackup, exserver string }

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "exbackup-e2e")
	if err != nil {
		panic(err)
	}
	bins.exbackup = filepath.Join(dir, "exbackup")
	bins.exserver = filepath.Join(dir, "exserver")
	for bin, pkg := range map[string]string{bins.exbackup: "exbackup", bins.exserver: "exbackup/cmd/exserver"} {
		out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n%s", pkg, err, out)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type server struct {
	name, data, addr, fp string
	smtp, imap           string // mail listeners, from the ready line
	cmd                  *exec.Cmd
}

var readyRE = regexp.MustCompile(`^ready (\S+) https://(\S+) (sha256:[0-9a-f]{64})(?: smtp=(\S+))?(?: imaps=(\S+))?$`)

func (s *server) start(t *testing.T) {
	t.Helper()
	s.cmd = exec.Command(bins.exserver, "run", "--data", s.data, "--listen", "127.0.0.1:0")
	out, _ := s.cmd.StdoutPipe()
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd := s.cmd
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	sc := bufio.NewScanner(out)
	if !sc.Scan() {
		t.Fatalf("%s did not start", s.name)
	}
	m := readyRE.FindStringSubmatch(sc.Text())
	if m == nil {
		t.Fatalf("%s printed %q", s.name, sc.Text())
	}
	s.addr, s.fp, s.smtp, s.imap = m[2], m[3], m[4], m[5]
	go func() {
		for sc.Scan() {
		}
	}()
}

func (s *server) kill9() {
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd.Wait()
}

// org is an organization of real servers and a console home connected to it.
type org struct {
	t       *testing.T
	home    string
	key     string
	servers map[string]*server
}

func newOrg(t *testing.T, layout ...string) *org {
	t.Helper()
	root := t.TempDir()
	o := &org{t: t, home: filepath.Join(root, "home"), servers: map[string]*server{}}
	var first *server
	for _, l := range layout {
		name, site, _ := strings.Cut(l, "/")
		s := &server{name: name, data: filepath.Join(root, name)}
		args := []string{"init", "--data", s.data, "--site", site, "--name", name}
		if first == nil {
			args = append(args, "--org", "First Organization")
		} else {
			args = append(args, "--key", o.key, "--join", first.addr)
		}
		if out, err := exec.Command(bins.exserver, args...).CombinedOutput(); err != nil {
			t.Fatalf("init %s: %v\n%s", name, err, out)
		}
		if first == nil {
			var cfg struct{ Key string }
			data, _ := os.ReadFile(filepath.Join(s.data, "server.json"))
			json.Unmarshal(data, &cfg)
			o.key = cfg.Key
			first = s
		}
		s.start(t)
		o.servers[name] = s
	}
	o.ok("connect", first.addr, "--key", o.key, "--fingerprint", first.fp)
	return o
}

// run runs exbackup and returns its output and error.
func (o *org) run(args ...string) (string, error) {
	cmd := exec.Command(bins.exbackup, args...)
	cmd.Env = append(os.Environ(), "EXBACKUP_HOME="+o.home)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (o *org) ok(args ...string) string {
	o.t.Helper()
	out, err := o.run(args...)
	if err != nil {
		o.t.Fatalf("exbackup %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// fails runs exbackup expecting a one-line failure containing want.
func (o *org) fails(want string, args ...string) string {
	o.t.Helper()
	out, err := o.run(args...)
	if err == nil {
		o.t.Fatalf("exbackup %s succeeded:\n%s", strings.Join(args, " "), out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "exbackup ") || !strings.Contains(last, want) {
		o.t.Fatalf("exbackup %s: want a one-line reason with %q, got:\n%s", strings.Join(args, " "), want, out)
	}
	return last
}

func (o *org) exs(args ...string) string {
	o.t.Helper()
	out, err := exec.Command(bins.exserver, args...).CombinedOutput()
	if err != nil {
		o.t.Fatalf("exserver %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (o *org) load(name string, msgs int) {
	o.exs("load", "--data", o.servers[name].data, "--mailboxes", "5", "--messages", fmt.Sprint(msgs), "--public", "5", "--senders", "4")
}

func (o *org) digest(name string) string {
	return strings.TrimSpace(o.exs("digest", "--data", o.servers[name].data))
}

// part picks "priv=…" and "pub=…" of a digest (the directory changes with
// every mailbox the load adds, and is not what an IS restore brings back).
func part(d string) string {
	f := strings.Fields(d)
	return f[1] + " " + f[2]
}

const tapeName = "Weekly"

func TestBackupChainsAndRestores(t *testing.T) {
	o := newOrg(t, "EXCH01/Redmond", "EXCH02/Redmond", "EXCH03/Dublin")
	out := o.ok("org")
	for _, want := range []string{"First Organization", "Redmond", "Dublin", "EXCH01", "EXCH03", "Information Store running"} {
		if !strings.Contains(out, want) {
			t.Fatalf("org output lacks %q:\n%s", want, out)
		}
	}
	o.load("EXCH01", 200)
	o.ok("backup", "DS", `\\EXCH01`, "IS", `\\EXCH01`, "/tape:"+tapeName, "/d", "full")
	atFull := o.digest("EXCH01")
	// A store set is mailboxes, not files: it lists as such.
	if out := o.ok("browse", "--tape", tapeName, "--set", "2", "Mailboxes"); strings.Count(out, " folders, ") < 5 {
		t.Fatalf("browse of the store set lists:\n%s", out)
	}
	o.fails("restore it to a server", "restore", "--tape", tapeName, "--set", "2", "--to", t.TempDir())
	o.load("EXCH01", 100)
	o.ok("backup", "IS", `\\EXCH01`, "/t", "incremental", "/a", "/tape:"+tapeName)
	atInc := o.digest("EXCH01")
	o.load("EXCH01", 100)
	// A differential needs the logs since the full, which the incremental
	// truncated: refused, not silently incomplete.
	o.fails("is missing", "backup", "IS", `\\EXCH01`, "/t", "differential", "/a", "/tape:"+tapeName)
	present := o.digest("EXCH01")

	// Full and differentials on EXCH02 (sets 4, 5, 6), verified as written.
	o.load("EXCH02", 100)
	o.ok("backup", "IS", `\\EXCH02`, "/a", "/tape:"+tapeName, "/v")
	o.load("EXCH02", 50)
	o.ok("backup", "IS", `\\EXCH02`, "/t", "differential", "/a", "/tape:"+tapeName)
	o.load("EXCH02", 50)
	o.ok("backup", "IS", `\\EXCH02`, "/t", "differential", "/a", "/tape:"+tapeName, "/v")
	atDiff := o.digest("EXCH02")
	o.load("EXCH02", 20)
	o.ok("restore", "--tape", tapeName, "--set", "4,6", "--erase", "--start")
	if d := o.digest("EXCH02"); part(d) != part(atDiff) {
		t.Fatalf("full + last differential with Erase:\n%s\nwant %s", d, atDiff)
	}

	tapes := o.ok("tapes")
	for _, want := range []string{"set 1 ", "set 2 ", "set 3 ", "set 6 ", "incremental", "differential", `"full"`} {
		if !strings.Contains(tapes, want) {
			t.Fatalf("tapes lacks %q:\n%s", want, tapes)
		}
	}
	// One column each: every set's state starts where the others' do.
	col := -1
	for _, l := range strings.Split(tapes, "\n") {
		if !strings.HasPrefix(l, "  set ") {
			continue
		}
		at := strings.Index(l, " complete")
		if at < 0 || col >= 0 && at != col {
			t.Fatalf("tapes: states not in one column:\n%s", tapes)
		}
		col = at
	}
	// The chain refusal: an incremental alone.
	o.fails("You cannot restore an incremental backup until a full backup has been restored", "restore", "--tape", tapeName, "--set", "3")
	// Full + incremental without Erase: roll-forward reaches the present.
	o.ok("restore", "--tape", tapeName, "--set", "2,3", "--start")
	if d := o.digest("EXCH01"); part(d) != part(present) {
		t.Fatalf("roll-forward restore:\n%s\nwant %s", d, present)
	}
	// With Erase the chain ends where the backup did.
	o.ok("restore", "--tape", tapeName, "--set", "2,3", "--erase", "--start")
	if d := o.digest("EXCH01"); part(d) != part(atInc) {
		t.Fatalf("erase restore of full+incremental:\n%s\nwant %s", d, atInc)
	}
	// The Directory restores to its own server only.
	o.fails("original server", "restore", "--tape", tapeName, "--set", "1", "--dest", "EXCH02")
	o.ok("restore", "--tape", tapeName, "--set", "1", "--start")
	// IS to another server of the site, with Erase and both stores.
	o.fails("Erase", "restore", "--tape", tapeName, "--set", "2", "--dest", "EXCH02", "--start")
	o.fails("site", "restore", "--tape", tapeName, "--set", "2", "--dest", "EXCH03", "--erase", "--start")
	o.ok("restore", "--tape", tapeName, "--set", "2", "--dest", "EXCH02", "--erase", "--start")
	if d := o.digest("EXCH02"); part(d) != part(atFull) {
		t.Fatalf("IS on EXCH02:\n%s\nwant %s", d, atFull)
	}
	// A bad switch and a hardware-compression request get one-line reasons.
	o.fails("hardware compression", "backup", "IS", `\\EXCH01`, "/hc:on")
	o.fails("unknown argument", "backup", "IS", `\\EXCH01`, "/bogus")
	// A server that is down shows as unreachable; the rest still answer.
	o.servers["EXCH03"].kill9()
	// org says so, one line for the server, and fails.
	out, err := o.run("org")
	down := "EXCH03     not reachable: nothing is listening at " + o.servers["EXCH03"].addr + " (connection refused)"
	if err == nil || !strings.Contains(out, down) || !strings.Contains(out, "EXCH02     Directory running") ||
		!strings.HasSuffix(strings.TrimSpace(out), "exbackup org: server EXCH03 is not reachable") {
		t.Fatalf("org with EXCH03 down: %v\n%s", err, out)
	}
	last := o.fails("server EXCH03 is not reachable: nothing is listening at", "backup", "IS", `\\EXCH03`)
	if strings.Contains(last, "dial tcp") || strings.Count(last, "server ") != 1 {
		t.Errorf("backup of EXCH03 while it is down: %s", last)
	}
}

// Without --fingerprint, connect shows the certificate and pins it only
// when the administrator says yes.
func TestConnectAsksBeforePinning(t *testing.T) {
	o := newOrg(t, "EXCH01/Redmond")
	s := o.servers["EXCH01"]
	ask := func(answer string) (string, error) {
		cmd := exec.Command(bins.exbackup, "connect", s.addr, "--key", o.key)
		cmd.Env = append(os.Environ(), "EXBACKUP_HOME="+filepath.Join(t.TempDir(), "h"))
		cmd.Stdin = strings.NewReader(answer)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := ask("n\n")
	if err == nil || !strings.Contains(out, s.fp) || !strings.Contains(out, "not trusted") {
		t.Fatalf("answering no: %v\n%s", err, out)
	}
	out, err = ask("y\n")
	if err != nil || !strings.Contains(out, "connected to organization First Organization") {
		t.Fatalf("answering yes: %v\n%s", err, out)
	}
	o.fails("server EXCH01 refused the access key", "connect", s.addr, "--key", "nope", "--fingerprint", s.fp)
}

func TestCatalogRebuiltEqualAndVerifyFindsDamage(t *testing.T) {
	o := newOrg(t, "EXCH01/Redmond")
	o.load("EXCH01", 100)
	o.ok("backup", "DS", `\\EXCH01`, "IS", `\\EXCH01`, "/tape:"+tapeName, "/d", "nightly", "/r")
	before := o.ok("tapes")
	// A lost catalog is never an empty one while tapes are there: the
	// next command catalogs them again, and says so.
	os.Remove(filepath.Join(o.home, "catalog.db"))
	notice := "exbackup: The catalog was behind the tapes; cataloged 1 tapes again.\n"
	if out := o.ok("tapes"); out != notice+before {
		t.Fatalf("after deleting the catalog:\n%s\nwas:\n%s", out, before)
	}
	// The tape is read from its media based catalog and digest tables,
	// not its blocks, and gives the same records.
	if out := o.ok("catalog", "--tape", tapeName); !strings.Contains(out, "Read from the tape's media based catalog") || strings.Contains(out, "Read from the tape's blocks") {
		t.Fatalf("catalog of our own tape:\n%s", out)
	}
	if after := o.ok("tapes"); after != before {
		t.Fatalf("rebuilt catalog differs:\n%s\nwas:\n%s", after, before)
	}
	o.ok("verify", "--tape", tapeName)

	// Flip one byte inside priv.edb's data on tape.
	path := filepath.Join(o.home, "tapes", tapeName+".bkf")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, []byte("loadgen@EXCH01"))
	if i < 0 {
		t.Fatal("no message data found on tape")
	}
	data[i] ^= 0x20
	os.WriteFile(path, data, 0o600)
	last := o.fails("set 2", "verify", "--tape", tapeName)
	if !strings.Contains(last, "priv.edb") && !strings.Contains(last, "edb") {
		t.Fatalf("verify does not name the file: %s", last)
	}
	o.fails("priv.edb", "restore", "--tape", tapeName, "--set", "2", "--verify")
}

func logGens(t *testing.T, dir string) []string {
	m, _ := filepath.Glob(filepath.Join(dir, "mdbdata", "edb*.log"))
	return m
}

func TestConsoleKilledDuringBackup(t *testing.T) {
	o := newOrg(t, "EXCH01/Redmond")
	o.exs("load", "--data", o.servers["EXCH01"].data, "--mailboxes", "4", "--messages", "8000", "--size", "8192", "--senders", "16")
	o.ok("backup", "DS", `\\EXCH01`, "/tape:"+tapeName)
	gens := logGens(t, o.servers["EXCH01"].data)

	cmd := exec.Command(bins.exbackup, "backup", "IS", `\\EXCH01`, "/a", "/tape:"+tapeName)
	cmd.Env = append(os.Environ(), "EXBACKUP_HOME="+o.home)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill the console once the IS set has started streaming.
	tapePath := filepath.Join(o.home, "tapes", tapeName+".bkf")
	fi0, _ := os.Stat(tapePath)
	deadline := time.Now().Add(30 * time.Second)
	for {
		fi, err := os.Stat(tapePath)
		if err == nil && fi.Size() > fi0.Size()+4<<20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the backup did not start writing")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	// The catalog lists what the tape holds: set 1, and set 2 cut off
	// where the console was killed.
	tapes := o.ok("tapes")
	if !strings.Contains(tapes, "2 sets") || !regexp.MustCompile(`set 2 .* damaged`).MatchString(tapes) || strings.Contains(tapes, "set 3 ") {
		t.Fatalf("after the killed backup the catalog lists:\n%s", tapes)
	}
	if got := logGens(t, o.servers["EXCH01"].data); len(got) < len(gens) {
		t.Fatalf("the server truncated logs after a killed backup: %v → %v", gens, got)
	}
	o.ok("verify", "--tape", tapeName, "--set", "1")
	// The next backup works, appending over the aborted set.
	o.ok("backup", "IS", `\\EXCH01`, "/a", "/tape:"+tapeName)
	if tapes := o.ok("tapes"); !strings.Contains(tapes, "set 2 ") || !strings.Contains(tapes, "2 sets") {
		t.Fatalf("after the next backup:\n%s", tapes)
	}
	o.ok("verify", "--tape", tapeName)
}

func TestServerKilledDuringBackupAndRestore(t *testing.T) {
	o := newOrg(t, "EXCH01/Redmond")
	s := o.servers["EXCH01"]
	o.exs("load", "--data", s.data, "--mailboxes", "4", "--messages", "8000", "--size", "8192", "--senders", "16")
	want := o.digest("EXCH01")

	// killDuring kills the server once busy says the job is streaming.
	// The job is frozen (SIGSTOP) before the kill and thawed after it, so
	// it cannot finish in between however fast the machine is.
	killDuring := func(busy func() bool, args ...string) string {
		cmd := exec.Command(bins.exbackup, args...)
		cmd.Env = append(os.Environ(), "EXBACKUP_HOME="+o.home)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(2 * time.Minute)
		for !busy() {
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("exbackup %v never started streaming:\n%s", args, out.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
		cmd.Process.Signal(syscall.SIGSTOP)
		s.kill9()
		cmd.Process.Signal(syscall.SIGCONT)
		if err := cmd.Wait(); err == nil {
			t.Fatalf("exbackup %v succeeded although its server was killed:\n%s", args, out.String())
		}
		return out.String()
	}
	// grown reports whether a file matching pattern holds more than 1 MiB.
	grown := func(pattern string) func() bool {
		return func() bool {
			m, _ := filepath.Glob(pattern)
			for _, f := range m {
				if fi, err := os.Stat(f); err == nil && fi.Size() > 1<<20 {
					return true
				}
			}
			return false
		}
	}
	out := killDuring(grown(filepath.Join(o.home, "tapes", ".*.new")), "backup", "IS", `\\EXCH01`, "/tape:"+tapeName)
	if !strings.Contains(out, "Information Store on EXCH01") {
		t.Fatalf("failure does not name the server and store: %s", out)
	}
	s.start(t)
	o.ok("connect", s.addr, "--key", o.key, "--fingerprint", s.fp)
	o.ok("backup", "IS", `\\EXCH01`, "/tape:"+tapeName)

	killDuring(grown(filepath.Join(s.data, "mdbdata", "restore-*", "*")), "restore", "--tape", tapeName, "--set", "1", "--erase", "--start")
	s.start(t)
	o.ok("connect", s.addr, "--key", o.key, "--fingerprint", s.fp)
	// A set cut off before it completed was never staged: the server
	// starts the IS on its old data; one cut off after it, recovers it.
	if org := o.ok("org"); !strings.Contains(org, "Information Store running") {
		t.Fatalf("after a killed restore the IS should run again:\n%s", org)
	}
	o.ok("restore", "--tape", tapeName, "--set", "1", "--erase", "--start")
	if d := o.digest("EXCH01"); part(d) != part(want) {
		t.Fatalf("restore after the kill:\n%s\nwant %s", d, want)
	}
}
