package enqueue

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

func TestProgressLine(t *testing.T) {
	t.Parallel()
	p := newProgress(&bytes.Buffer{}, 8)
	for _, o := range []audit.Outcome{audit.OutcomeNotFound, audit.OutcomeDeactivated, audit.OutcomeDeactivated, audit.OutcomeAlreadyInactive} {
		p.done++
		p.counts[o]++
	}
	want := "[##########..........] 4/8 done  deactivated 2  already_inactive 1  not_found 1"
	if got := p.line(); got != want {
		t.Errorf("line() =\n%q, want\n%q", got, want)
	}
}

// TestProgressNotATerminal: a buffer is not a terminal, so the bar is written as whole lines, at
// most one per logEvery, plus the final state.
func TestProgressNotATerminal(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	p := newProgress(&out, 3)
	p.nowFunc = func() time.Time { return now }
	if p.tty {
		t.Fatal("a bytes.Buffer taken for a terminal")
	}
	p.draw(true)
	p.add(audit.OutcomeDeactivated) // within logEvery: not drawn
	now = now.Add(logEvery)
	p.add(audit.OutcomeDeactivated)
	p.add(audit.OutcomeProtected)
	p.finish()
	want := []string{
		"[....................] 0/3 done",
		"[#############.......] 2/3 done  deactivated 2",
		"[####################] 3/3 done  deactivated 2  protected 1",
	}
	if diff := cmp.Diff(want, strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

func TestProgressTerminalRedrawsInPlace(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	p := newProgress(&out, 1)
	p.tty = true
	p.draw(true)
	p.add(audit.OutcomeDeactivated)
	p.finish()
	if got := out.String(); strings.Count(got, "\n") != 1 || !strings.HasPrefix(got, "\r\x1b[K[") || !strings.HasSuffix(got, "1/1 done  deactivated 1\n") {
		t.Errorf("terminal output %q", got)
	}
}
