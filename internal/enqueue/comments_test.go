package enqueue_test

import (
	"strings"
	"testing"
)

// D12: a row whose first field starts with '#' was dropped as a comment, and the run said
// "1 job published", exit 0: a leaver gone from the batch without a word.
func TestHashInFirstFieldIsARowNotAComment(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	in := "external_id,reason\n#00uwRgKCBVwLoSZMEexf,left\n00uLxqzJlxRXdjHE424n,left\n"
	r := b.run(t, in, "--file", "-", "--requested-by", "test")
	if r.code != 0 || !strings.Contains(r.stdout, "2 jobs published") {
		t.Errorf("exit %d, want 0 with 2 jobs published\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if got := b.published(t); got != 2 {
		t.Errorf("jobs stream stored %d jobs, want 2 (the '#' row too)", got)
	}
}

// A line after the header that its author meant as a comment is an invalid row, which stops the
// batch with a message that says why, instead of vanishing.
func TestCommentAfterHeaderIsAnInvalidRow(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	in := "user_name,reason\n# grace.smith.7@example.com left too, add her next week\nada.rossi.3@example.com,left\n"
	r := b.run(t, in, "--file", "-", "--requested-by", "test")
	if r.code != 2 {
		t.Errorf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"line 2: starts with '#' but is a row, not a comment", "nothing published"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if got := b.published(t); got != 0 {
		t.Errorf("jobs stream stored %d jobs, want 0", got)
	}
}

// Every line that holds no row is reported by number when the file is read and under the
// summary.
func TestSkippedLinesAreReported(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	in := "# batch of 2026-12-06\n\n# second comment\nuser_name,reason\nada.rossi.3@example.com,left\n\ndmitri.dubois.4@example.com,left\n"
	r := b.run(t, in, "--file", "-", "--requested-by", "test")
	want := "skipped 4 lines that hold no row: 1, 3 (comment before the header), 2, 6 (blank)\n"
	if r.code != 0 || !strings.Contains(r.stderr, "enqueue: "+want) {
		t.Errorf("exit %d, want 0 and stderr with %q\nstderr:\n%s", r.code, want, r.stderr)
	}
	if !strings.Contains(r.stdout, "2 jobs published, 0 of them duplicates of earlier runs\n"+want) {
		t.Errorf("stdout does not repeat the skipped lines under the summary:\n%s", r.stdout)
	}
}
