package enqueue

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Line numbers stay the file's physical lines when comments and blank lines before the header are
// dropped, across a quoted field that spans lines, and in csv.Reader's own errors.
func TestLineNumbersWithCommentsBeforeHeader(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	in := "\xef\xbb\xbf# one\n  \n#two, with a comma\r\n\nuser_name,reason\n" + // header on line 5
		"a@b.example,\"two\nlines\"\n" + // 6-7
		"\n" + // 8
		"#c@d.example,x\n" + // 9: data, not a comment
		"e@f.example,\"a \"\"quoted\"\"\n\nword\"\n" + // 10-12; the blank line 11 is inside quotes
		"g@h.example,last" // 13, no newline at the end
	b, err := cfg.readBatch(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var lines []int
	for _, r := range b.rows {
		lines = append(lines, r.Line)
	}
	if diff := cmp.Diff([]int{6, 9, 10, 13}, lines); diff != "" {
		t.Errorf("row lines (-want +got):\n%s", diff)
	}
	if got := b.rows[1].Job.User.UserName; got != "#c@d.example" {
		t.Errorf("line 9 user_name = %q, want #c@d.example", got)
	}
	wantSkipped := []skippedLine{{1, skipComment}, {2, skipBlank}, {3, skipComment}, {4, skipBlank}, {8, skipBlank}}
	if diff := cmp.Diff(wantSkipped, b.skipped); diff != "" {
		t.Errorf("skipped lines (-want +got):\n%s", diff)
	}
	if got, want := describeSkipped(b.skipped), "5 lines that hold no row: 1, 3 (comment before the header), 2, 4, 8 (blank)"; got != want {
		t.Errorf("describeSkipped = %q, want %q", got, want)
	}
}

func TestParseErrorLineCountsDroppedLines(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	_, err := cfg.readBatch(strings.NewReader("# c\n# c\nuser_name,reason\na@b.example,ok\nx@y.example,bad\"quote\n"))
	if err == nil || !strings.Contains(err.Error(), "line 5") {
		t.Errorf("error = %v, want one naming line 5", err)
	}
}

func TestJSONLBlankLinesAreReported(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	in := `{"user_name":"a@b.example"}` + "\n\n   \n" + `{"user_name":"c@d.example"}` + "\n"
	b, err := cfg.readBatch(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.rows) != 2 || b.rows[1].Line != 4 {
		t.Fatalf("rows %v, want 2 with the second on line 4", briefs(b.rows))
	}
	if diff := cmp.Diff([]skippedLine{{2, skipBlank}, {3, skipBlank}}, b.skipped); diff != "" {
		t.Errorf("skipped lines (-want +got):\n%s", diff)
	}
}
