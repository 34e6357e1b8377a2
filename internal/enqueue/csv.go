package enqueue

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// Canonical CSV columns. Header names are matched without regard to case, '_', '-' and spaces, so
// "externalId", "External ID" and "external_id" are one column.
const (
	colUserID      = "user_id"
	colExternalID  = "external_id"
	colUserName    = "user_name"
	colReason      = "reason"
	colTicket      = "ticket"
	colPriority    = "priority"
	colRequestedBy = "requested_by"
	colDryRun      = "dry_run"
	colNotBefore   = "not_before"
	colTerminated  = "terminated_at" // HR termination lists (ReadHR) only
)

// csvColumns maps a normalised header name to its canonical column.
var csvColumns = map[string]string{
	"id": colUserID, "userid": colUserID,
	"externalid": colExternalID,
	"username":   colUserName, "email": colUserName,
	"reason": colReason, "ticket": colTicket, "priority": colPriority,
	"requestedby": colRequestedBy, "dryrun": colDryRun, "notbefore": colNotBefore,
	"terminatedat": colTerminated, "terminationtime": colTerminated, "terminationdate": colTerminated,
}

const knownColumns = "id (or user_id), external_id, user_name (or email), reason, ticket, priority, requested_by, dry_run, not_before"

func normaliseColumn(name string) string {
	return strings.ToLower(strings.NewReplacer("_", "", "-", "", " ", "").Replace(strings.TrimSpace(name)))
}

// readCSV reads a CSV batch: a header row, then one user per row. Lines before the header that
// start with '#' or are blank are skipped, and so are blank lines after it; every skipped line is
// listed in the batch. After the header a line starting with '#' is a row like any other: it
// cannot be told from data (an external id "#00u…"). Line numbers are physical lines of the input.
func (c *Config) readCSV(in *bufio.Reader) (batch, error) {
	src := newCSVSource(in)
	r := csv.NewReader(src)
	r.FieldsPerRecord = -1 // a row with the wrong count is a row problem, not the file's
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return batch{}, errors.New("empty: want a header row such as user_name,reason,ticket")
	}
	if err != nil {
		return batch{}, src.why(err)
	}
	cols, err := parseHeader(header)
	if err != nil {
		return batch{}, fmt.Errorf("line %d: header: %w", src.lineOf(r), err)
	}
	var rows []*Row
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return batch{rows: rows, skipped: src.skipped}, nil
		}
		if err != nil { // a quoting error leaves the rest of the file unreadable
			return batch{}, src.why(err)
		}
		if len(rows) == MaxRows {
			return batch{}, errTooManyRows
		}
		row := c.newRow(src.lineOf(r), csvFields(cols, rec))
		if len(row.Problems) > 0 && strings.HasPrefix(rec[0], "#") {
			row.Problems = append(row.Problems, jobs.Problem{Message: notAComment})
		}
		rows = append(rows, row)
	}
}

// notAComment explains an invalid row that its author may have meant as a comment.
const notAComment = "starts with '#' but is a row, not a comment: comments are allowed only before the header"

// parseHeader maps each column index to its canonical column.
func parseHeader(header []string) ([]string, error) {
	cols := make([]string, len(header))
	seen := map[string]string{}
	var errs []error
	ident := false
	for i, h := range header {
		col, ok := csvColumns[normaliseColumn(h)]
		switch {
		case strings.TrimSpace(h) == "":
			errs = append(errs, fmt.Errorf("column %d has no name", i+1))
		case !ok:
			errs = append(errs, fmt.Errorf("unknown column %q (known: %s)", h, knownColumns))
		case seen[col] != "":
			errs = append(errs, fmt.Errorf("columns %q and %q are the same column", seen[col], h))
		default:
			seen[col] = h
			ident = ident || col == colUserID || col == colExternalID || col == colUserName
		}
		cols[i] = col
	}
	if len(errs) == 0 && !ident {
		errs = append(errs, errors.New("no column names the user: want id, external_id or user_name"))
	}
	return cols, errors.Join(errs...)
}

// csvFields reads one record by its header.
func csvFields(cols []string, rec []string) fields {
	var f fields
	if len(rec) != len(cols) {
		f.problems = append(f.problems, jobs.Problem{Message: fmt.Sprintf("has %d %s, the header has %d",
			len(rec), plural(len(rec), "field", "fields"), len(cols))})
	}
	for i, col := range cols {
		if i >= len(rec) {
			break
		}
		v := strings.TrimSpace(rec[i])
		switch col {
		case colUserID:
			f.userID = v
		case colExternalID:
			f.externalID = v
		case colUserName:
			f.userName = v
		case colReason:
			f.reason = v
		case colTicket:
			f.ticket = v
		case colPriority:
			f.priority = v
		case colRequestedBy:
			f.requestedBy = v
		case colNotBefore:
			f.notBefore = v
		case colTerminated:
			f.terminatedAt = v
		case colDryRun:
			if v == "" {
				continue
			}
			b, ok := parseBool(v)
			if !ok {
				f.problems = append(f.problems, jobs.Problem{Field: colDryRun, Message: "must be true, false, yes, no, 1 or 0, not " + strconv.Quote(clip(v))})
				continue
			}
			f.dryRun = &b
		}
	}
	return f
}

// clip shortens a value quoted in a message.
func clip(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}
