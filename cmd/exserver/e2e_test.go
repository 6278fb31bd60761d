package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"exbackup/exchange"
	"exbackup/exchange/client"
	"exbackup/exchange/server"
)

// End-to-end tests: real exserver processes on loopback, driven through
// their command line and API.

var exserverBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "exserver-e2e")
	if err != nil {
		panic(err)
	}
	exserverBin = filepath.Join(dir, "exserver")
	out, err := exec.Command("go", "build", "-o", exserverBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building exserver: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func exs(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(exserverBin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("exserver %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

var readyRE = regexp.MustCompile(`^ready (\S+) https://(\S+) (sha256:[0-9a-f]{64})(?: smtp=(\S+))?(?: imaps=(\S+))?$`)

type proc struct {
	cmd  *exec.Cmd
	addr string
	fp   string
	data string
	smtp string // from the ready line
	imap string
}

// runServer starts `exserver run` and waits for its ready line.
func runServer(t *testing.T, data, listen string) *proc {
	t.Helper()
	cmd := exec.Command(exserverBin, "run", "--data", data, "--listen", listen)
	stdout, _ := cmd.StdoutPipe()
	logf, _ := os.Create(filepath.Join(t.TempDir(), "server.log"))
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, data: data}
	t.Cleanup(func() { p.kill() })
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	select {
	case l := <-lines:
		m := readyRE.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("exserver run printed %q, want a ready line", l)
		}
		p.addr, p.fp, p.smtp, p.imap = m[2], m[3], m[4], m[5]
	case <-time.After(30 * time.Second):
		t.Fatal("exserver run did not become ready")
	}
	return p
}

func (p *proc) kill() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.cmd.Wait()
	}
}

func (p *proc) term(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exserver did not shut down cleanly: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("exserver did not stop on SIGTERM")
	}
}

func key(t *testing.T, data string) string {
	cfg, err := server.LoadConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Key
}

func dial(t *testing.T, p *proc, k string) *client.Client {
	t.Helper()
	c, err := client.Dial(context.Background(), p.addr, k, p.fp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// ackedSubjects parses `load --print-acks` output: "ack MAILBOX load RUN #N".
func ackedSubjects(out string) map[string][]string {
	acks := map[string][]string{}
	for _, l := range strings.Split(out, "\n") {
		f := strings.SplitN(l, " ", 3)
		if len(f) == 3 && f[0] == "ack" && f[1] != "public" {
			acks[f[1]] = append(acks[f[1]], f[2])
		}
	}
	return acks
}

// checkAcked opens the stopped server's data in-process and checks that
// every acknowledged message is there.
func checkAcked(t *testing.T, data string, acks map[string][]string) int {
	t.Helper()
	s, err := server.Open(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for mb, subjects := range acks {
		msgs, err := s.Messages(context.Background(), mb)
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, m := range msgs {
			have[m.Subject] = true
		}
		for _, subj := range subjects {
			if !have[subj] {
				t.Errorf("acknowledged message %q of %s is missing after kill -9", subj, mb)
			}
			n++
		}
	}
	return n
}

func TestTwoSitesJoinKillAndRecover(t *testing.T) {
	root := t.TempDir()
	a, b := filepath.Join(root, "EXCH01"), filepath.Join(root, "EXCH03")
	out := exs(t, "init", "--data", a, "--org", "First Organization", "--site", "Redmond", "--name", "EXCH01")
	if !strings.Contains(out, "access key:") {
		t.Fatalf("init did not print the access key: %s", out)
	}
	k := key(t, a)
	pa := runServer(t, a, "127.0.0.1:0")
	exs(t, "init", "--data", b, "--site", "Dublin", "--name", "EXCH03", "--key", k, "--join", pa.addr)
	pb := runServer(t, b, "127.0.0.1:0")

	ctx := context.Background()
	for _, p := range []*proc{pa, pb} {
		topo, err := dial(t, p, k).Topology(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(topo.Sites) != 2 || topo.Organization != "First Organization" {
			t.Fatalf("topology from %s: %+v", p.addr, topo)
		}
	}
	// The wrong key is refused, and so is a changed certificate.
	refused := func(key, fp string) error {
		c, err := client.Dial(ctx, pa.addr, key, fp)
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Status(ctx)
		return err
	}
	if err := refused("wrong", pa.fp); !errors.Is(err, exchange.ErrUnauthorized) {
		t.Fatalf("wrong key: %v", err)
	}
	if err := refused(k, pb.fp); err == nil || !strings.Contains(err.Error(), "changed") {
		t.Fatalf("a changed certificate: %v", err)
	}

	// kill -9 in the middle of a load: every acknowledged message survives.
	load := exec.Command(exserverBin, "load", "--data", a, "--mailboxes", "8", "--messages", "100000", "--size", "2048", "--print-acks")
	stdout, _ := load.StdoutPipe()
	if err := load.Start(); err != nil {
		t.Fatal(err)
	}
	var acked strings.Builder
	sc := bufio.NewScanner(stdout)
	for n := 0; n < 400 && sc.Scan(); n++ {
		acked.WriteString(sc.Text() + "\n")
	}
	pa.kill()
	for sc.Scan() { // acknowledgements already on their way when it died
		acked.WriteString(sc.Text() + "\n")
	}
	load.Wait()
	pa = runServer(t, a, "127.0.0.1:0")
	pa.term(t)
	if n := checkAcked(t, a, ackedSubjects(acked.String())); n < 400 {
		t.Fatalf("only %d acknowledged messages checked", n)
	}

	// kill -9 after a completed load: digests equal before and after.
	pa = runServer(t, a, "127.0.0.1:0")
	out = exs(t, "load", "--data", a, "--mailboxes", "4", "--messages", "200", "--public", "20")
	if !strings.Contains(out, "delivered 200 messages and 20 posts") {
		t.Fatalf("load printed %q", out)
	}
	before := exs(t, "digest", "--data", a)
	pa.kill()
	pa = runServer(t, a, "127.0.0.1:0")
	if after := exs(t, "digest", "--data", a); after != before {
		t.Fatalf("digest changed across kill -9:\n%s%s", before, after)
	}
	// The other site still knows EXCH01 at its new address.
	deadline := time.Now().Add(10 * time.Second)
	for {
		topo, err := dial(t, pb, k).Topology(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var addr string
		for _, s := range topo.Sites {
			for _, srv := range s.Servers {
				if srv.Name == "EXCH01" {
					addr = srv.Address
				}
			}
		}
		if addr == pa.addr {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("EXCH03 still has EXCH01 at %q, not %q", addr, pa.addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// --addr form of the admin commands.
	if d := exs(t, "digest", "--addr", pa.addr, "--key", k, "--fingerprint", pa.fp); d != before {
		t.Fatalf("digest by address differs: %s", d)
	}
}

func TestCommandErrorsAreOneLine(t *testing.T) {
	for _, args := range [][]string{
		{"run", "--data", t.TempDir()},
		{"digest", "--data", t.TempDir()},
		{"init", "--data", t.TempDir(), "--site", "S"},
		{"bogus"},
	} {
		out, err := exec.Command(exserverBin, args...).CombinedOutput()
		if err == nil {
			t.Fatalf("exserver %v succeeded", args)
		}
		if !strings.HasPrefix(string(out), "exserver ") {
			t.Fatalf("exserver %v: %q", args, out)
		}
	}
}
