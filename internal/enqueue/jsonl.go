package enqueue

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// jsonRow is one line of a JSON-lines batch. Its members are named as in the job message: the
// user's identifier (user_id or id, external_id, user_name or email) and the job's fields.
type jsonRow struct {
	UserID      string `json:"user_id"`
	ID          string `json:"id"`
	ExternalID  string `json:"external_id"`
	UserName    string `json:"user_name"`
	Email       string `json:"email"`
	Reason      string `json:"reason"`
	Ticket      string `json:"ticket"`
	Priority    string `json:"priority"`
	RequestedBy string `json:"requested_by"`
	DryRun      *bool  `json:"dry_run"`
	NotBefore   string `json:"not_before"`
	// TerminatedAt is the termination time of an HR termination list (ReadHR).
	TerminatedAt string `json:"terminated_at"`
}

// maxLine bounds one JSON line; a valid job is far smaller (jobs.MaxJobSize).
const maxLine = 1 << 20

// readJSONL reads a JSON-lines batch: one object per line. Blank lines are skipped and listed in
// the batch.
func (c *Config) readJSONL(in io.Reader) (batch, error) {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	var b batch
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			b.skipped = append(b.skipped, skippedLine{Line: line, Kind: skipBlank})
			continue
		}
		if len(b.rows) == MaxRows {
			return batch{}, errTooManyRows
		}
		b.rows = append(b.rows, c.newRow(line, jsonFields(text)))
	}
	if errors.Is(sc.Err(), bufio.ErrTooLong) {
		return batch{}, fmt.Errorf("line %d: longer than %d bytes", line+1, maxLine)
	}
	if sc.Err() != nil {
		return batch{}, sc.Err()
	}
	return b, nil
}

// jsonFields decodes one line, turning decoding errors into row problems.
func jsonFields(text []byte) fields {
	text, problems := checkMembers(text)
	var jr jsonRow
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.DisallowUnknownFields()
	err := dec.Decode(&jr)
	if err == nil && dec.More() {
		err = errors.New("data after the JSON object")
	}
	if err != nil {
		return fields{problems: append(problems, jsonProblem(err))}
	}
	f := fields{problems: problems,
		userID: strings.TrimSpace(jr.UserID), externalID: strings.TrimSpace(jr.ExternalID),
		userName: strings.TrimSpace(jr.UserName), reason: strings.TrimSpace(jr.Reason),
		ticket: strings.TrimSpace(jr.Ticket), priority: strings.TrimSpace(jr.Priority),
		requestedBy: strings.TrimSpace(jr.RequestedBy), dryRun: jr.DryRun,
		notBefore: strings.TrimSpace(jr.NotBefore), terminatedAt: strings.TrimSpace(jr.TerminatedAt),
	}
	f.userID = f.pick("user_id", "id", f.userID, strings.TrimSpace(jr.ID))
	f.userName = f.pick("user_name", "email", f.userName, strings.TrimSpace(jr.Email))
	return f
}

// pick merges a member with its alias; giving both is a problem.
func (f *fields) pick(name, alias, a, b string) string {
	if a != "" && b != "" {
		f.problems = append(f.problems, jobs.Problem{Field: name, Message: "given twice, as " + name + " and " + alias})
	}
	if a != "" {
		return a
	}
	return b
}

// jsonProblem describes a decoding error without echoing the line.
func jsonProblem(err error) jobs.Problem {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		want := map[reflect.Kind]string{reflect.Bool: "a boolean", reflect.String: "a string"}[te.Type.Kind()]
		if te.Field == "" || want == "" {
			return jobs.Problem{Message: "must be a JSON object, not " + te.Value}
		}
		return jobs.Problem{Field: te.Field, Message: "must be " + want + ", not " + te.Value}
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if name, ok := strings.CutPrefix(msg, "unknown field "); ok {
		return jobs.Problem{Field: strings.Trim(name, `"`), Message: "unknown member (known: " + knownColumns + ")"}
	}
	var se *json.SyntaxError
	if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) {
		return jobs.Problem{Message: "not a JSON object: " + msg}
	}
	return jobs.Problem{Message: msg}
}
