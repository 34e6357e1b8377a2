package enqueue

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

const (
	barWidth = 20
	// ttyRedraw is the shortest gap between two redraws of the bar on a terminal.
	ttyRedraw = 100 * time.Millisecond
	// logEvery is the shortest gap between two progress lines when stderr is not a terminal
	// (a log file or CI output), where a bar redrawn with "\r" would be noise.
	logEvery = 5 * time.Second
)

// progress draws a progress bar of jobs done, with counts by outcome:
//
//	[#####...............] 123/500 done  deactivated 100  already_inactive 20  not_found 3
//
// On a terminal it redraws one line in place; elsewhere it writes a line now and then. It is not
// safe for concurrent use.
type progress struct {
	w       io.Writer
	tty     bool
	total   int
	done    int
	counts  map[audit.Outcome]int
	last    time.Time
	written bool
	nowFunc func() time.Time
}

func newProgress(w io.Writer, total int) *progress {
	return &progress{w: w, tty: isTerminal(w), total: total, counts: map[audit.Outcome]int{}, nowFunc: time.Now}
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// add counts one finished job and redraws when it is time to.
func (p *progress) add(o audit.Outcome) {
	p.done++
	p.counts[o]++
	p.draw(false)
}

// draw writes the bar if force is set or enough time has passed since the last one.
func (p *progress) draw(force bool) {
	now := p.nowFunc()
	gap := logEvery
	if p.tty {
		gap = ttyRedraw
	}
	if !force && p.written && now.Sub(p.last) < gap {
		return
	}
	p.last, p.written = now, true
	if p.tty {
		fmt.Fprintf(p.w, "\r\x1b[K%s", p.line())
	} else {
		fmt.Fprintln(p.w, p.line())
	}
}

// finish draws the final state and ends the line on a terminal.
func (p *progress) finish() {
	p.draw(true)
	if p.tty {
		fmt.Fprintln(p.w)
	}
}

func (p *progress) line() string {
	filled := 0
	if p.total > 0 {
		filled = p.done * barWidth / p.total
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[%s%s] %d/%d done", strings.Repeat("#", filled), strings.Repeat(".", barWidth-filled), p.done, p.total)
	for _, o := range sortedOutcomes(p.counts) {
		fmt.Fprintf(&b, "  %s %d", o, p.counts[o])
	}
	return b.String()
}

// sortedOutcomes lists the outcomes in counts in the audit documentation's order, then any others
// (pending, invalid) by name.
func sortedOutcomes(counts map[audit.Outcome]int) []audit.Outcome {
	var out []audit.Outcome
	for _, o := range audit.Outcomes {
		if counts[o] > 0 {
			out = append(out, o)
		}
	}
	var rest []audit.Outcome
	for o, n := range counts {
		if n > 0 && !slices.Contains(audit.Outcomes, o) {
			rest = append(rest, o)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}
