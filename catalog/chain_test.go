package catalog

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// A backup in a ChainFor case: "N" normal, "C" copy, "I" incremental,
// "D" differential; a trailing "!" aborted, "?" damaged.
func TestChainFor(t *testing.T) {
	for _, tc := range []struct {
		backups string
		want    string // indexes into backups, or "none"
	}{
		{"N", "0"},
		{"N I I I", "0 1 2 3"},
		{"N D D", "0 2"},
		{"N D D D", "0 3"},
		{"N I! I", "0 2"},
		{"N I N! I", "0 1 3"},
		{"N I? I", "0 2"},
		{"N I N I", "2 3"},
		{"N I I N", "3"},
		{"N D N D", "2 3"},
		{"N I C I", "2 3"},
		{"C D", "0 1"},
		// Mixed: a differential holds the logs since the last truncation,
		// which the incrementals before it did.
		{"N I D", "0 1 2"},
		{"N D I", "0 2"},
		{"N I D I D", "0 1 3 4"},
		{"N D! ", "0"},
		{"I D", "none"},
		{"N! I", "none"},
		{"N? I", "none"},
		{"", "none"},
	} {
		t.Run(strings.ReplaceAll(tc.backups, " ", "_"), func(t *testing.T) {
			c := openTest(t)
			tp := addTape(t, c, "A")
			var sets []Set
			for i, b := range strings.Fields(tc.backups) {
				s := newSet(tp.ID, i+1, "EXCH01", "IS", map[byte]string{
					'N': TypeNormal, 'C': TypeCopy, 'I': TypeIncremental, 'D': TypeDifferential,
				}[b[0]], t0.Add(time.Duration(i)*24*time.Hour))
				switch {
				case strings.HasSuffix(b, "!"):
					s.State = StateAborted
				case strings.HasSuffix(b, "?"):
					s.State = StateDamaged
				}
				sets = append(sets, addSet(t, c, s, nil))
			}
			chain, err := c.ChainFor("EXCH01", "IS")
			if tc.want == "none" {
				if !errors.Is(err, ErrNotFound) || len(chain) != 0 {
					t.Fatalf("ChainFor = %v, %v; want nothing and ErrNotFound", chainString(chain, sets), err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := chainString(chain, sets); got != tc.want {
				t.Fatalf("ChainFor(%s) = %s, want %s", tc.backups, got, tc.want)
			}
			for _, s := range chain {
				if want := sets[indexOf(sets, s.ID)]; !reflect.DeepEqual(s, want) {
					t.Fatalf("chain holds %+v, want %+v", s, want)
				}
			}
		})
	}
}

func chainString(chain, sets []Set) string {
	var out []string
	for _, s := range chain {
		out = append(out, fmt.Sprint(indexOf(sets, s.ID)))
	}
	return strings.Join(out, " ")
}

func indexOf(sets []Set, id uint64) int {
	for i, s := range sets {
		if s.ID == id {
			return i
		}
	}
	return -1
}

// Other servers and stores share tapes and days with the chain and are
// ignored; the chain spans tapes in time order, not in set id order; the
// server may be written in any case and with its \\.
func TestChainForIgnoresOthers(t *testing.T) {
	c := openTest(t)
	a, b := addTape(t, c, "A"), addTape(t, c, "B")
	day := func(n int) time.Time { return t0.Add(time.Duration(n) * 24 * time.Hour) }

	// Tape B is cataloged first, but holds the later backups.
	i2 := addSet(t, c, newSet(b.ID, 1, "EXCH01", "IS", TypeIncremental, day(2)), nil)
	addSet(t, c, newSet(b.ID, 2, "EXCH01", "DS", TypeNormal, day(3)), nil)
	addSet(t, c, newSet(b.ID, 3, "EXCH02", "IS", TypeNormal, day(3)), nil)
	i3 := addSet(t, c, newSet(b.ID, 4, "EXCH01", "IS", TypeIncremental, day(4)), nil)

	full := addSet(t, c, newSet(a.ID, 1, "EXCH01", "IS", TypeNormal, day(0)), nil)
	addSet(t, c, newSet(a.ID, 2, "EXCH01", "DS", TypeNormal, day(0)), nil)
	i1 := addSet(t, c, newSet(a.ID, 3, "EXCH01", "IS", TypeIncremental, day(1)), nil)
	addSet(t, c, newSet(a.ID, 4, "EXCH010", "IS", TypeNormal, day(1)), nil)
	addSet(t, c, newSet(a.ID, 5, "EXCH0", "IS", TypeNormal, day(5)), nil)
	addSet(t, c, newSet(a.ID, 6, "EXCH01", "ISX", TypeNormal, day(5)), nil)
	foreign := newSet(a.ID, 7, "EXCH01", "IS", TypeNormal, day(6))
	foreign.Foreign = true
	addSet(t, c, foreign, nil)

	want := []uint64{full.ID, i1.ID, i2.ID, i3.ID}
	for _, server := range []string{"EXCH01", "exch01", `\\EXCH01`} {
		chain, err := c.ChainFor(server, "IS")
		if err != nil {
			t.Fatal(err)
		}
		var got []uint64
		for _, s := range chain {
			got = append(got, s.ID)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ChainFor(%s, IS) = set ids %v, want %v", server, got, want)
		}
	}
	if _, err := c.ChainFor("EXCH03", "IS"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `\\EXCH03 IS`) {
		t.Errorf("ChainFor of an unknown server: %v", err)
	}
}
