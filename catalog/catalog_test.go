package catalog

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Readers run while a writer appends sets: every set they see has all its
// entries, and the chain they see is whole.
func TestConcurrentReaders(t *testing.T) {
	c := openTest(t)
	tp := addTape(t, c, "A")
	const sets = 150
	var done atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	report := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !done.Load() {
				all, err := c.AllSets()
				if err != nil {
					report(err)
					return
				}
				for _, s := range all {
					// No set is removed here: the writer numbers them up.
					e, err := c.Entries(s.ID)
					if err != nil {
						report(err)
						continue
					}
					if len(e) != s.Files {
						report(fmt.Errorf("set id %d listed with %d of its %d entries", s.ID, len(e), s.Files))
					}
				}
				if chain, err := c.ChainFor("EXCH01", "IS"); err == nil {
					if chain[0].Type != TypeNormal || len(chain) > 10 {
						report(fmt.Errorf("chain of %d sets starting with a %s", len(chain), chain[0].Type))
					}
				}
				if _, err := c.Sets(tp.ID); err != nil {
					report(err)
				}
			}
		}()
	}
	for i := 1; i <= sets; i++ {
		typ := TypeIncremental
		if i%10 == 1 {
			typ = TypeNormal
		}
		s := newSet(tp.ID, i, "EXCH01", "IS", typ, t0.Add(time.Duration(i)*time.Hour))
		s.Files = i%7 + 1
		if _, err := c.AddSet(s, newEntries("EXCH01", "IS", s.Files)); err != nil {
			t.Fatal(err)
		}
	}
	done.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if all, _ := c.AllSets(); len(all) != sets {
		t.Errorf("%d sets, want %d", len(all), sets)
	}
}
