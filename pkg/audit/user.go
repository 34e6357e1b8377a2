package audit

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// OCSF constants of the Account Change class (OCSF 1.8.0; class 3001 is not deprecated there).
const (
	OCSFVersion         = "1.8.0"
	AccountChangeSchema = "https://schema.ocsf.io/1.8.0/classes/account_change"
	CategoryIAM         = 3
	ClassAccountChange  = 3001
)

// Activity is the OCSF Account Change activity_id.
type Activity int

const (
	// ActivityEnable (type_uid 300102) is the activity of reactivate jobs.
	ActivityEnable Activity = 2
	// ActivityDisable (type_uid 300105) is the activity of deactivate jobs.
	ActivityDisable Activity = 5
	// ActivityDelete (type_uid 300106) is the activity of delete jobs (and of a delete a legal
	// hold refused).
	ActivityDelete Activity = 6
	// ActivityOther (type_uid 300199) is the activity of cleanup jobs: the account was disabled
	// by the deactivation's own event; removing queue memberships, a station or forwarding is
	// none of the class's activities, and a second Disable would count each leaver twice.
	ActivityOther Activity = 99
)

// Record is what the worker knows when a job ends; [Origin.UserEvent] turns it into an event
// without keeping or changing the Record. The zero value lacks the required fields.
// Strings are clipped and lists capped so that the event stays under [MaxEventSize]. Never put a
// secret in any field: the event is stored for years and sent to third parties.
type Record struct {
	JobID    string    // Required. For a message that cannot be decoded, a stable stand-in such as its stream sequence.
	EventID  string    // The event id. Defaults to EventID(JobID); another only when that id was taken (ErrIDClaimed).
	Outcome  Outcome   // Required.
	Activity Activity  // Defaults to ActivityEnable for OutcomeReactivated, ActivityOther for the cleanup outcomes, else ActivityDisable.
	Time     time.Time // Required: when the outcome was reached.
	User     Target
	// From the job, as the producer sent it.
	RequestedBy, Ticket, Reason, Priority, ReplayOf string
	CleanupOf                                       string // a cleanup job: the id of the deactivation it follows
	DryRun                                          bool
	Forced                                          bool // a reactivation forced although no deactivation by this system was recorded
	// NotBefore is the job's effective time (its not_before), when it was scheduled for one.
	NotBefore time.Time
	// CanceledBy names who canceled a scheduled job (outcome canceled): an operator, a cancel
	// job or a reactivation.
	CanceledBy string
	// What the worker saw and did: the steps' findings, carried into the event as they are.
	Findings
	Attempts int           // attempts made, as the job status counts them
	Latency  time.Duration // from the job's publication to its outcome
	Error    string        // the final error, or every attempt's for exhausted
	Message  string        // Defaults to a sentence for the outcome.
}

// Target is the user a job is about, as far as it is known.
type Target struct {
	ID         string // Genesys user id
	ExternalID string // SCIM externalId
	UserName   string // Genesys userName, the primary email
}

// AccountChange is the OCSF Account Change event (class 3001) carried as an event's data.
type AccountChange struct {
	ActivityID   int      `json:"activity_id"`
	ActivityName string   `json:"activity_name"`
	CategoryUID  int      `json:"category_uid"`
	CategoryName string   `json:"category_name"`
	ClassUID     int      `json:"class_uid"`
	ClassName    string   `json:"class_name"`
	TypeUID      int      `json:"type_uid"`
	TypeName     string   `json:"type_name"`
	SeverityID   int      `json:"severity_id"`
	Severity     string   `json:"severity"`
	StatusID     int      `json:"status_id"`
	Status       string   `json:"status"`
	Time         int64    `json:"time"` // epoch milliseconds
	Message      string   `json:"message"`
	Metadata     Metadata `json:"metadata"`
	User         User     `json:"user"`
	Actor        Actor    `json:"actor"`
	Unmapped     Unmapped `json:"unmapped"`
}

// Metadata is the OCSF metadata object.
type Metadata struct {
	Version        string  `json:"version"`
	Product        Product `json:"product"`
	UID            string  `json:"uid"`             // the event id
	CorrelationUID string  `json:"correlation_uid"` // the job id
	LogName        string  `json:"log_name"`
}

// Product is the OCSF product object.
type Product struct {
	Name       string `json:"name"`
	VendorName string `json:"vendor_name"`
	Version    string `json:"version"`
}

// User is the OCSF user object of the target. A user of whom nothing is known is named "unknown"
// with type_id 0, because OCSF requires one of uid and name.
type User struct {
	UID       string `json:"uid,omitempty"`
	UIDAlt    string `json:"uid_alt,omitempty"` // the SCIM externalId
	Name      string `json:"name,omitempty"`
	EmailAddr string `json:"email_addr,omitempty"`
	TypeID    int    `json:"type_id"`
	Type      string `json:"type"`
}

// Actor is who asked: the requester as the producer claimed it, through this application.
type Actor struct {
	User    *ActorUser `json:"user,omitempty"`
	AppName string     `json:"app_name"`
}

// ActorUser is the OCSF user object of the requester.
type ActorUser struct {
	Name string `json:"name"`
}

// Unmapped holds this project's fields, which OCSF has no place for. The findings are embedded as
// the worker recorded them, so their members appear between replay_of and attempts.
type Unmapped struct {
	JobID      string  `json:"job_id"`
	Outcome    Outcome `json:"outcome"`
	DeadLetter bool    `json:"dead_letter"`
	Ticket     string  `json:"ticket,omitempty"`
	Reason     string  `json:"reason,omitempty"`
	Priority   string  `json:"priority,omitempty"`
	DryRun     bool    `json:"dry_run"`
	Forced     bool    `json:"forced,omitempty"`
	ReplayOf   string  `json:"replay_of,omitempty"`
	CleanupOf  string  `json:"cleanup_of,omitempty"`  // a cleanup job: the deactivation job it follows
	NotBefore  string  `json:"not_before,omitempty"`  // a scheduled job: its effective time, RFC 3339 in UTC
	CanceledBy string  `json:"canceled_by,omitempty"` // a canceled scheduled job: who canceled it
	Findings           // what the job's steps found, as the worker recorded it
	Attempts   int     `json:"attempts"`
	LatencyMS  int64   `json:"latency_ms"`
	Error      string  `json:"error,omitempty"`
	Truncated  bool    `json:"truncated,omitempty"` // some field was clipped to fit the size limit
}

var activityNames = map[Activity]string{ActivityEnable: "Enable", ActivityDisable: "Disable", ActivityDelete: "Delete", ActivityOther: "Other"}

// Limits applied by UserEvent.
const (
	maxText  = 1024 // bytes of a free-text or identifier field
	maxError = 8192 // bytes of the error
	maxList  = 100  // entries of roles_before and correlation_ids
	maxEntry = 256  // bytes of one list entry
)

// UserEvent builds the terminal audit event of a job. Its id is [EventID] of the job id, its type
// TypePrefix+"user."+outcome, its CloudEvents subject the Genesys user id when known, and its NATS
// route "audit.user.<outcome>.<SubjectToken(user id)>". It fails only on a missing job id, an
// unknown outcome or activity, or a zero time.
func (o Origin) UserEvent(r Record) (*Event, error) {
	if r.JobID == "" {
		return nil, errors.New("audit: record has no job id")
	}
	info, ok := outcomes[r.Outcome]
	if !ok {
		return nil, fmt.Errorf("audit: unknown outcome %q", Clip(string(r.Outcome), 64))
	}
	if r.Time.IsZero() {
		return nil, errNoTime
	}
	act := r.Activity
	if act == 0 {
		switch r.Outcome {
		case OutcomeReactivated:
			act = ActivityEnable
		case OutcomeDeleted, OutcomeHeld:
			act = ActivityDelete
		case OutcomeCleanedUp, OutcomeCleanupSkipped, OutcomeCanceled, OutcomeCancelDone, OutcomeDeleteSkipped, OutcomeVerified, OutcomeUnverified:
			act = ActivityOther
		default:
			act = ActivityDisable
		}
	}
	if _, ok := activityNames[act]; !ok {
		return nil, fmt.Errorf("audit: unknown activity %d", act)
	}
	id := cmp.Or(r.EventID, EventID(r.JobID))
	data := &AccountChange{
		ActivityID: int(act), ActivityName: activityNames[act],
		CategoryUID: CategoryIAM, CategoryName: "Identity & Access Management",
		ClassUID: ClassAccountChange, ClassName: "Account Change",
		TypeUID: ClassAccountChange*100 + int(act), TypeName: "Account Change: " + activityNames[act],
		SeverityID: info.severity, Severity: severityNames[info.severity],
		StatusID: info.status, Status: statusNames[info.status],
		Time:     r.Time.UnixMilli(),
		Message:  Clip(cmp.Or(r.Message, info.message), maxText),
		Metadata: Metadata{Version: OCSFVersion, Product: o.product(), UID: id, CorrelationUID: Clip(r.JobID, maxText), LogName: "audit"},
		User:     ocsfUser(r.User),
		Actor:    Actor{AppName: ProductName},
		Unmapped: Unmapped{
			JobID: Clip(r.JobID, maxText), Outcome: r.Outcome, DeadLetter: info.deadLetter,
			Ticket: Clip(r.Ticket, maxText), Reason: Clip(r.Reason, maxText), Priority: Clip(r.Priority, 32),
			DryRun: r.DryRun, Forced: r.Forced, ReplayOf: Clip(r.ReplayOf, maxText), CleanupOf: Clip(r.CleanupOf, maxText), NotBefore: formatNotBefore(r.NotBefore), CanceledBy: Clip(r.CanceledBy, maxText), Findings: r.Findings.clipped(),
			Attempts: max(r.Attempts, 0), LatencyMS: max(r.Latency.Milliseconds(), 0), Error: Clip(r.Error, maxError),
		},
	}
	if r.RequestedBy != "" {
		data.Actor.User = &ActorUser{Name: Clip(r.RequestedBy, maxText)}
	}
	ev := &Event{
		SpecVersion: SpecVersion, ID: id, Source: o.source(), Type: TypePrefix + "user." + string(r.Outcome),
		Subject: Clip(r.User.ID, maxText), Time: formatTime(r.Time), DataContentType: DataContentType,
		DataSchema: AccountChangeSchema, Data: data,
		route: userRoute(r.Outcome, r.User.ID),
	}
	return ev, fitSize(ev, data)
}

// formatNotBefore renders a job's effective time in UTC with the precision it was given; "" when zero.
func formatNotBefore(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func ocsfUser(t Target) User {
	u := User{UID: Clip(t.ID, maxText), UIDAlt: Clip(t.ExternalID, maxText), Name: Clip(t.UserName, maxText), TypeID: 1, Type: "User"}
	if strings.Contains(u.Name, "@") {
		u.EmailAddr = u.Name
	}
	if u.UID == "" && u.Name == "" {
		u.Name, u.TypeID, u.Type = "unknown", 0, "Unknown"
	}
	return u
}

// fitSize shrinks an event whose escaped fields push it over MaxEventSize (control characters
// expand sixfold in JSON), marking it truncated; the second pass always fits.
func fitSize(ev *Event, data *AccountChange) error {
	if _, err := ev.Encode(); err == nil {
		return nil
	}
	const small = 128
	u := &data.Unmapped
	u.Truncated = true
	for _, s := range []*string{&data.Message, &data.Metadata.CorrelationUID, &data.User.UID, &data.User.UIDAlt,
		&data.User.Name, &data.User.EmailAddr, &u.JobID, &u.Ticket, &u.Reason, &u.ReplayOf, &u.CleanupOf, &u.CanceledBy, &u.Error, &ev.Subject} {
		*s = Clip(*s, small)
	}
	if data.Actor.User != nil {
		data.Actor.User.Name = Clip(data.Actor.User.Name, small)
	}
	u.shrink()
	_, err := ev.Encode()
	return err
}

func clipList(in []string) []string {
	if in == nil {
		return nil
	}
	out := make([]string, 0, min(len(in), maxList))
	for _, s := range in[:min(len(in), maxList)] {
		out = append(out, Clip(s, maxEntry))
	}
	return out
}

// Clip shortens s to at most n bytes at a rune boundary, marking the cut with "…".
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	n -= len("…")
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// Grant is one role held in one division, as the audit event records it so
// that a reactivation can restore it.
type Grant struct {
	RoleID       string `json:"role_id"`
	RoleName     string `json:"role_name,omitempty"`
	DivisionID   string `json:"division_id"`
	DivisionName string `json:"division_name,omitempty"`
}

// clipGrants bounds the recorded grants (a user holds a few dozen at most).
func clipGrants(in []Grant) []Grant {
	if in == nil {
		return nil
	}
	out := make([]Grant, 0, min(len(in), 200))
	for _, g := range in[:min(len(in), 200)] {
		out = append(out, Grant{RoleID: Clip(g.RoleID, 64), RoleName: Clip(g.RoleName, 128), DivisionID: Clip(g.DivisionID, 64), DivisionName: Clip(g.DivisionName, 128)})
	}
	return out
}

// Queue is a routing queue the user had joined.
type Queue struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

func clipQueues(in []Queue) []Queue {
	if in == nil {
		return nil
	}
	out := make([]Queue, 0, min(len(in), 200))
	for _, q := range in[:min(len(in), 200)] {
		out = append(out, Queue{ID: Clip(q.ID, 64), Name: Clip(q.Name, 128)})
	}
	return out
}
