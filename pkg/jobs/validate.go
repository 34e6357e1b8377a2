package jobs

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrInvalidJob matches (with errors.Is) every error from [Decode] and [Job.Validate]: the job can
// never become valid, so it ends rejected and is never retried.
var ErrInvalidJob = errors.New("jobs: invalid job")

// These errors wrap [ErrInvalidJob] and say why a message could not be read at all.
var (
	ErrTooLarge           = wrapInvalid("larger than the size limit")
	ErrMalformed          = wrapInvalid("malformed JSON")
	ErrUnsupportedVersion = wrapInvalid("unsupported schema version")
)

type invalidError struct{ msg string }

func wrapInvalid(msg string) error           { return &invalidError{msg} }
func (e *invalidError) Error() string        { return "jobs: " + e.msg }
func (e *invalidError) Is(target error) bool { return target == ErrInvalidJob }

// Length limits, in Unicode code points (as JSON Schema's maxLength counts).
const (
	MaxIDLength          = 128
	MaxExternalIDLength  = 256
	MaxUserNameLength    = 254
	MinUserNameLength    = 3
	MaxRequestedByLength = 256
	MaxTicketLength      = 128
	MaxReasonLength      = 1024
)

// Patterns shared word for word with the JSON Schema (a test compares them). Each is valid in both
// RE2 and ECMA-262 and means the same in both; \x escapes stand for code points. A "text" value has
// no C0 or C1 control character, no DEL, no U+FFFD (the mark of undecodable input) and no bidi
// control or invisible character (invisibleClass).
const (
	idPattern       = `^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`
	uuidPattern     = `^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`
	textPattern     = "^[^\\x00-\\x1f\\x7f-\\x9f\uFFFD" + invisibleClass + "]*$"
	reasonPattern   = "^[^\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f\uFFFD" + invisibleClass + "]*$" // text, plus tab and newline
	userNamePattern = "^[^@ \\x00-\\x1f\\x7f-\\x9f\uFFFD" + invisibleClass + "]+@[^@ \\x00-\\x1f\\x7f-\\x9f\uFFFD" + invisibleClass + "]+$"
	timePattern     = `^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$`
)

var (
	idRE       = regexp.MustCompile(idPattern)
	uuidRE     = regexp.MustCompile(uuidPattern)
	textRE     = regexp.MustCompile(textPattern)
	reasonRE   = regexp.MustCompile(reasonPattern)
	userNameRE = regexp.MustCompile(userNamePattern)
	timeRE     = regexp.MustCompile(timePattern)
)

// Problem is one reason a job is invalid.
type Problem struct {
	// Field is the JSON path of the offending member, such as "user.id"; "" means the whole job.
	Field string
	// Message says what is wrong, such as "must be a UUID (8-4-4-4-12 hex digits)".
	Message string
}

// ValidationError lists every problem found in a job, in the order found (document order for what
// Decode sees, then field order). It matches [ErrInvalidJob]. Treat it as read-only once returned.
type ValidationError struct {
	Problems []Problem
}

// maxListed bounds how many problems Error spells out, so that a hostile job cannot blow up a log
// line or an audit event; Problems keeps them all.
const maxListed = 10

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("jobs: invalid job: ")
	for i, p := range e.Problems {
		if i == maxListed {
			b.WriteString("; and " + strconv.Itoa(len(e.Problems)-maxListed) + " more")
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		if p.Field != "" {
			b.WriteString(p.Field + ": ")
		}
		b.WriteString(p.Message)
	}
	return b.String()
}

// Is reports whether target is [ErrInvalidJob].
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidJob }

// Validate checks every rule of the job schema and returns a [*ValidationError] listing every
// problem, or nil. Empty optional fields count as absent.
func (j Job) Validate() error {
	var p problems
	if j.Version != Version {
		p.add("version", "unsupported schema version "+strconv.Itoa(j.Version))
	}
	p.checkID("id", j.ID, true)
	switch j.Action {
	case ActionDeactivate, ActionReactivate:
	case ActionCleanup:
		p.checkCleanup(j)
	case ActionCancel:
		p.checkCancel(j)
	case ActionDelete:
		p.checkDelete(j)
	case ActionVerify:
		p.checkVerify(j)
	case "":
		p.add("action", "required")
	default:
		p.add("action", `must be "deactivate", "reactivate", "cleanup", "cancel", "delete" or "verify"`)
	}
	if IsReservedID(j.ID) && j.Action != ActionCleanup && j.Action != ActionDelete { // a delete's: checkDelete
		p.add("id", "must not start with '_': that namespace is reserved for the worker's stand-in ids")
	}
	if j.CleanupOf != "" && j.Action != ActionCleanup {
		p.add("cleanup_of", `only a job with action "cleanup" follows a deactivation`)
	}
	p.checkUser(j.User)
	p.checkText("requested_by", j.RequestedBy, true, MaxRequestedByLength, textRE)
	p.checkText("reason", j.Reason, false, MaxReasonLength, reasonRE)
	p.checkText("ticket", j.Ticket, false, MaxTicketLength, textRE)
	switch j.Priority {
	case "", PriorityUrgent, PriorityNormal:
	default:
		p.add("priority", `must be "urgent" or "normal"`)
	}
	p.checkID("replay_of", j.ReplayOf, false)
	p.checkID("cleanup_of", j.CleanupOf, j.Action == ActionCleanup)
	p.checkID("delete_of", j.DeleteOf, false)
	if j.DeleteOf != "" && j.Action != ActionDelete {
		p.add("delete_of", `only a job with action "delete" follows a deactivation that way`)
	}
	if j.Force && j.Action != ActionReactivate {
		p.add("force", `only a job with action "reactivate" may be forced`)
	}
	return p.err()
}

// checkCleanup checks what only a cleanup job has: the deactivation it follows, and the id derived
// from it. A cleanup job is never a dry run (a dry run previews the clean steps itself).
func (p *problems) checkCleanup(j Job) {
	switch {
	case IsReservedID(j.CleanupOf):
		p.add("cleanup_of", "must be the id of a deactivation, not a reserved id")
	case j.CleanupOf != "" && j.ID != CleanupID(j.CleanupOf) && !isCleanupReplay(j):
		p.add("id", "a cleanup job's id must be the reserved id of its cleanup_of ("+CleanupID(j.CleanupOf)+"), or, replaying one, that id followed by .r<n>")
	}
	if j.DryRun {
		p.add("dry_run", "a cleanup job is never a dry run")
	}
	if !j.NotBefore.IsZero() {
		p.add("not_before", "a cleanup job runs when its deactivation ends, never at a time of its own")
	}
}

// isCleanupReplay reports whether j is an operator's replay of a dead-lettered cleanup job
// (genesysctl dead replay names it <id>.r<n>).
func isCleanupReplay(j Job) bool {
	rest, ok := strings.CutPrefix(j.ID, CleanupID(j.CleanupOf)+".r")
	_, err := strconv.Atoi(rest)
	return ok && err == nil && j.ReplayOf != "" && strings.HasPrefix(j.ReplayOf, CleanupID(j.CleanupOf))
}

type problems []Problem

func (p *problems) add(field, msg string) { *p = append(*p, Problem{Field: field, Message: msg}) }

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return &ValidationError{Problems: p}
}

func (p *problems) checkUser(u UserRef) {
	n := 0
	for _, s := range []string{u.ID, u.ExternalID, u.UserName} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		p.add("user", "exactly one of id, external_id and user_name is required")
	}
	if u.ID != "" && !uuidRE.MatchString(u.ID) {
		p.add("user.id", "must be a UUID (8-4-4-4-12 hex digits)")
	}
	p.checkText("user.external_id", u.ExternalID, false, MaxExternalIDLength, textRE)
	if u.UserName != "" && utf8.RuneCountInString(u.UserName) < MinUserNameLength {
		p.add("user.user_name", "must be at least "+strconv.Itoa(MinUserNameLength)+" characters")
		return
	}
	p.checkText("user.user_name", u.UserName, false, MaxUserNameLength, textRE)
	if u.UserName != "" && textRE.MatchString(u.UserName) && !userNameRE.MatchString(u.UserName) {
		p.add("user.user_name", "must be an email address: one '@' with text on both sides, no spaces")
	}
}

func (p *problems) checkID(field, s string, required bool) {
	switch {
	case s == "":
		if required {
			p.add(field, "required")
		}
	case len(s) > MaxIDLength:
		p.add(field, "must be at most "+strconv.Itoa(MaxIDLength)+" characters")
	case !idRE.MatchString(s):
		p.add(field, "must contain only A-Z a-z 0-9 '-' '_' and single dots between them")
	}
}

func (p *problems) checkText(field, s string, required bool, maxLen int, re *regexp.Regexp) {
	inv := TextProblem(s)
	switch {
	case s == "":
		if required {
			p.add(field, "required")
		}
	case utf8.RuneCountInString(s) > maxLen:
		p.add(field, "must be at most "+strconv.Itoa(maxLen)+" characters")
	case inv != "":
		p.add(field, inv)
	case !re.MatchString(s):
		p.add(field, "must not contain control characters or U+FFFD")
	}
}

// WellFormedID reports whether id has the form of a job id (length and characters; reserved ids
// starting "_" included), as Validate checks it.
func WellFormedID(id string) bool { return len(id) <= MaxIDLength && idRE.MatchString(id) }
