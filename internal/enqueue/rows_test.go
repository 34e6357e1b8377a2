package enqueue

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

func testConfig() Config {
	return Config{Action: string(jobs.ActionDeactivate), RequestedBy: "ops@host", Format: FormatAuto, File: "-"}
}

// brief is what a test compares of a row.
type brief struct {
	Line                                 int
	UserKey, Reason, Ticket, RequestedBy string
	Priority                             jobs.Priority
	DryRun                               bool
	Problems                             []jobs.Problem
}

func briefs(rows []*Row) []brief {
	var out []brief
	for _, r := range rows {
		out = append(out, brief{r.Line, r.Job.User.Key(), r.Job.Reason, r.Job.Ticket, r.Job.RequestedBy, r.Job.Priority, r.Job.DryRun, r.Problems})
	}
	return out
}

func TestReadCSV(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Reason, cfg.Ticket, cfg.Urgent = "default reason", "HR-0", true
	in := "\xef\xbb\xbf# a comment line\n" +
		"Email, ExternalId ,USER_ID,Reason,ticket,Priority,requested-by,Dry Run\n" +
		"a@b.example,,,,,,,\n" +
		"\n" +
		",ext-1,,\"multi\nline\",HR-9,normal,hr-bot,yes\n" +
		",,749007A2-9498-4ECD-A7B6-EFB47F1F7160,r,,URGENT,,0\n" +
		"x@y.example,,,r,,,,perhaps\n" +
		"too\n"
	got, err := cfg.readBatch(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	rows := got.rows
	want := []brief{
		{3, "user_name:a@b.example", "default reason", "HR-0", "ops@host", jobs.PriorityUrgent, false, nil},
		{5, "external_id:ext-1", "multi\nline", "HR-9", "hr-bot", jobs.PriorityNormal, true, nil},
		{7, "id:749007a2-9498-4ecd-a7b6-efb47f1f7160", "r", "HR-0", "ops@host", jobs.PriorityUrgent, false, nil},
		{8, "user_name:x@y.example", "r", "HR-0", "ops@host", jobs.PriorityUrgent, false,
			[]jobs.Problem{{Field: "dry_run", Message: `must be true, false, yes, no, 1 or 0, not "perhaps"`}}},
		{9, "user_name:too", "default reason", "HR-0", "ops@host", jobs.PriorityUrgent, false, []jobs.Problem{
			{Message: "has 1 field, the header has 8"},
			{Field: "user.user_name", Message: "must be an email address: one '@' with text on both sides, no spaces"},
		}},
	}
	if diff := cmp.Diff(want, briefs(rows)); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestDetectFormat(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ path, data, want string }{
		{"a.csv", "{", FormatCSV},
		{"a.JSONL", "id", FormatJSONL},
		{"a.ndjson", "", FormatJSONL},
		{"a.json", "", FormatJSONL},
		{"-", "  \n\t{\"id\":1}", FormatJSONL},
		{"-", "user_name\n", FormatCSV},
		{"-", "", FormatCSV},
		{"batch.txt", "\n\n{", FormatJSONL},
	} {
		if got := detectFormat(tc.path, bufio.NewReader(strings.NewReader(tc.data))); got != tc.want {
			t.Errorf("detectFormat(%q, %q) = %s, want %s", tc.path, tc.data, got, tc.want)
		}
	}
}

func TestDuplicatesAndIDs(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	in := "user_name,reason,ticket,dry_run,priority\n" +
		"a@b.example,left,HR-1,,\n" +
		"a@b.example,left,HR-1,,urgent\n" + // priority does not make another request
		"a@b.example,left,HR-1,true,\n" + // a dry run does
		"a@b.example,left,HR-2,,\n"
	got, err := cfg.readBatch(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	rows := got.rows
	markDuplicates(rows)
	if got := []int{rows[0].DuplicateOf, rows[1].DuplicateOf, rows[2].DuplicateOf, rows[3].DuplicateOf}; !cmp.Equal(got, []int{0, 2, 0, 0}) {
		t.Errorf("DuplicateOf = %v, want [0 2 0 0]", got)
	}
	if want := jobs.DeterministicID("deactivate", "user_name:a@b.example", "HR-1", "left"); rows[0].Job.ID != want {
		t.Errorf("id %s, want %s", rows[0].Job.ID, want)
	}
	if rows[2].Job.ID == rows[0].Job.ID || rows[3].Job.ID == rows[0].Job.ID {
		t.Error("a dry run or another ticket gave the same id")
	}
	before := rows[0].Job.ID
	assignNewIDs(rows)
	if rows[0].Job.ID == before || rows[1].Job.ID != before {
		t.Errorf("assignNewIDs: first %s (was %s), duplicate %s", rows[0].Job.ID, before, rows[1].Job.ID)
	}
	for _, r := range rows {
		j := r.Job
		if err := j.Validate(); err != nil {
			t.Errorf("%s: %v", r.where(), err)
		}
	}
	if id := randomID(); !regexp.MustCompile(`^j-[a-z2-7]{26}$`).MatchString(id) {
		t.Errorf("randomID() = %q", id)
	}
}

func TestTooManyRows(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	b.WriteString("user_name\n")
	for i := range MaxRows + 1 {
		fmt.Fprintf(&b, "u%d@example.com\n", i)
	}
	cfg := testConfig()
	if _, err := cfg.readBatch(&b); err == nil || !strings.Contains(err.Error(), "more than 100000 rows") {
		t.Errorf("err = %v, want too many rows", err)
	}
}
