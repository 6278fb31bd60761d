package xlog

import "testing"

func benchmarkAppend(b *testing.B, perAppend int) {
	l, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	batch := make([][]byte, perAppend)
	for i := range batch {
		batch[i] = make([]byte, 4096)
	}
	b.SetBytes(int64(4096 * perAppend))
	n := 0
	for b.Loop() {
		if _, _, err := l.Append(batch...); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n*perAppend)/b.Elapsed().Seconds(), "records/s")
}

// One 4 KiB record per Append: one fsync per record.
func BenchmarkAppend4KSync(b *testing.B) { benchmarkAppend(b, 1) }

// Sixteen 4 KiB records per Append: group commit, one fsync per sixteen.
func BenchmarkAppend4KGroup16(b *testing.B) { benchmarkAppend(b, 16) }
