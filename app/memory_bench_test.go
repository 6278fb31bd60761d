package app

import (
	"bufio"
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"exbackup/engine"
	"exbackup/exchange"
)

// BenchmarkDemoMemory measures what the console's own side holds: the demo
// organization started in process, then backups and restores as an
// administrator runs a few, then a collection. It reports the live Go heap
// (heap-MB), the memory the Go runtime keeps from the system (go-sys-MB)
// and the process's resident size (rss-MB). The GUI toolkit's and the GL
// driver's memory are not in it: scripts/memory.sh measures the console
// under Xvfb.
//
//	go test -run '^$' -bench DemoMemory -benchtime 1x -memprofile /tmp/mem.out ./app
//	go tool pprof -sample_index=inuse_space -top /tmp/mem.out
func BenchmarkDemoMemory(b *testing.B) {
	for range b.N {
		eng, err := engine.Open(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		d, err := startDemo(ctx, eng, false)
		if err != nil {
			b.Fatal(err)
		}
		stores := []engine.StoreRef{{Server: "EXCH01", Store: exchange.StoreDS}}
		for _, s := range demoServers {
			stores = append(stores, engine.StoreRef{Server: s.name, Store: exchange.StoreIS})
		}
		for k := 0; k < 3; k++ {
			res, err := eng.Backup(ctx, engine.BackupRequest{Stores: stores, TapeName: "Memory", Append: k > 0}, nil)
			if err != nil {
				b.Fatal(err)
			}
			rs := engine.RestoreSet{Tape: "Memory", Set: res.Sets[1], Private: true, Public: true, Start: true}
			if _, err := eng.Restore(ctx, engine.RestoreRequest{Sets: []engine.RestoreSet{rs}}, nil); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
		b.ReportMetric(float64(ms.Sys-ms.HeapReleased)/(1<<20), "go-sys-MB")
		b.ReportMetric(rssMB(), "rss-MB")
		d.stop()
		eng.Close()
	}
}

func rssMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
