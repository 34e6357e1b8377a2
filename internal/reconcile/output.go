package reconcile

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// The report formats.
const (
	FormatCSV  = "csv"
	FormatJSON = "json"
	FormatMD   = "md"
)

// Writer writes a report as results come: CSV (a header, one row per person; the summary goes to
// the summary writer, so the CSV stays one table), JSON lines (one object per person, then
// {"summary":…}), or Markdown (a table, then the summary).
type Writer struct {
	format  string
	w       io.Writer
	summary io.Writer
	csv     *csv.Writer
	started bool
}

// NewWriter writes rows to w in format; with csv, the summary goes to summary.
func NewWriter(format string, w, summary io.Writer) (*Writer, error) {
	switch format {
	case FormatCSV, FormatJSON, FormatMD:
	default:
		return nil, fmt.Errorf("--format %q: want csv, json or md", format)
	}
	rw := &Writer{format: format, w: w, summary: summary}
	if format == FormatCSV {
		rw.csv = csv.NewWriter(w)
	}
	return rw, nil
}

var columns = []string{"line", "user", "terminated_at", "class", "user_id", "user_name",
	"audit_event_id", "audit_outcome", "audit_job_id", "audit_time", "job_id", "enqueued", "note", "error"}

func (r Result) cells() []string {
	return []string{strconv.Itoa(r.Line), r.User, stamp(r.TerminatedAt), string(r.Class), r.UserID, r.UserName,
		r.AuditEventID, r.AuditOutcome, r.AuditJobID, stamp(r.AuditTime), r.JobID, r.Enqueued, r.Note, r.Error}
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// Row writes one result.
func (rw *Writer) Row(r Result) error {
	switch rw.format {
	case FormatJSON:
		return json.NewEncoder(rw.w).Encode(r)
	case FormatCSV:
		if !rw.started {
			rw.started = true
			if err := rw.csv.Write(columns); err != nil {
				return err
			}
		}
		rw.csv.Write(r.cells()) //nolint:errcheck // Flush reports it
		rw.csv.Flush()
		return rw.csv.Error()
	}
	if !rw.started {
		rw.started = true
		fmt.Fprintf(rw.w, "| %s |\n|%s\n", strings.Join(columns, " | "), strings.Repeat("---|", len(columns)))
	}
	cells := r.cells()
	for i, c := range cells {
		cells[i] = strings.NewReplacer("|", `\|`, "\n", " ").Replace(c)
	}
	_, err := fmt.Fprintf(rw.w, "| %s |\n", strings.Join(cells, " | "))
	return err
}

// Summary writes the summary, after the last row.
func (rw *Writer) Summary(s Summary) error {
	switch rw.format {
	case FormatJSON:
		return json.NewEncoder(rw.w).Encode(struct {
			Summary Summary `json:"summary"`
		}{s})
	case FormatCSV:
		if !rw.started { // an empty report still has its header
			if err := rw.csv.Write(columns); err != nil {
				return err
			}
			rw.csv.Flush()
		}
		_, err := io.WriteString(rw.summary, s.Text())
		return err
	}
	if rw.started {
		fmt.Fprintln(rw.w)
	}
	_, err := fmt.Fprintf(rw.w, "**Summary**\n\n```\n%s```\n", s.Text())
	return err
}

// Text is the summary as lines of "name: count".
func (s Summary) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "people: %d", s.Rows)
	if s.Duplicates > 0 {
		fmt.Fprintf(&b, " (%d duplicate rows skipped)", s.Duplicates)
	}
	b.WriteString("\n")
	for _, c := range Classes {
		fmt.Fprintf(&b, "%s: %d\n", c, s.Classes[c])
	}
	if s.Published > 0 || s.AlreadyEnqueued > 0 {
		fmt.Fprintf(&b, "deactivation jobs published: %d, already enqueued: %d\n", s.Published, s.AlreadyEnqueued)
	}
	fmt.Fprintf(&b, "genesys calls: %d\n", s.GenesysCalls)
	return b.String()
}
