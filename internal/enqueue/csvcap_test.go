package enqueue

import (
	"io"
	"runtime"
	"strings"
	"testing"
)

// repeated yields n bytes of a pattern without holding them: a big input that costs no memory.
type repeated struct {
	pattern string
	n, off  int
}

func (r *repeated) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	k := min(len(p), r.n)
	for i := range k {
		p[i] = r.pattern[(r.off+i)%len(r.pattern)]
	}
	r.off, r.n = r.off+k, r.n-k
	return k, nil
}

// L2: one 200 MB CSV field took 1.04 GB. A record longer than maxLine now ends the file with an
// error naming its line, after reading little more than maxLine: 32 MiB over the cap must cost
// a few times maxLine of allocations (csv.Reader's buffers), far less than the input (before the
// fix: several times 32 MiB). Comments before the header are dropped piece by piece.
func TestCSVRecordCapBoundsMemory(t *testing.T) { // not parallel: it measures allocations
	const big, bound = 32 << 20, 10 << 20
	tests := []struct {
		name, head, pattern, want string
	}{
		{"long unquoted field", "a@b.example,", "x", "stdin: line 2: longer than 1048576 bytes"},
		{"long quoted field", "a@b.example,\"", "y", "stdin: line 2: longer than 1048576 bytes"},
		// Line 2 is 24 bytes, the next ones 11: 24 + 11*(95325-2) is the first sum over the cap.
		{"unclosed quote over many lines", "a@b.example,\"", "short line\n",
			"stdin: line 2: a row longer than 1048576 bytes, still going on line 95325: is a quote (\") not closed?"},
		{"comment before the header", "", "#", "stdin: empty: want a header row such as user_name,reason,ticket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			header := "user_name,reason\n"
			if tt.name == "comment before the header" {
				header = ""
			}
			in := io.MultiReader(strings.NewReader(header+tt.head), &repeated{pattern: tt.pattern, n: big}, strings.NewReader("\"\n"))
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := cfg.readBatch(in)
			runtime.ReadMemStats(&after)
			if err == nil || err.Error() != tt.want {
				t.Errorf("error = %v, want %q", err, tt.want)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > bound {
				t.Errorf("reading allocated %d bytes, want at most %d for a %d-byte cap", alloc, bound, maxLine)
			}
		})
	}
}

// A record just under the cap is read; its fields are then checked like any other.
func TestCSVRecordUnderCapIsRead(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	reason := strings.Repeat("r", maxLine-100)
	b, err := cfg.readBatch(strings.NewReader("user_name,reason\na@b.example,\"" + reason + "\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.rows) != 1 || len(b.rows[0].Problems) == 0 || b.rows[0].Problems[0].Field != "reason" {
		t.Errorf("want one row with a reason problem, got %+v", briefs(b.rows))
	}
}
