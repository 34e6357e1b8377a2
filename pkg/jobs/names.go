package jobs

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// Names derives every stream, subject, consumer and bucket name from one
// subject prefix, so that several deployments can share a NATS system. The
// zero value uses [audit.DefaultPrefix]. Names is a plain value, safe to copy.
//
//	what            name (prefix "genesys")
//	jobs stream     GENESYS_JOBS: genesys.jobs.urgent[.<user token>], genesys.jobs.normal[.<user token>],
//	                genesys.jobs.reactivate[.<user token>] (reactivations only; operators alone may publish there),
//	                genesys.jobs.cleanup[.<user token>] (cleanup jobs only; workers alone publish there)
//	audit stream    GENESYS_AUDIT: genesys.audit.>
//	dead letters    GENESYS_DEAD: genesys.dead.<reason>
//	advisories      GENESYS_ADVISORIES: MAX_DELIVERIES and MSG_TERMINATED of GENESYS_JOBS
//	consumers       workers-urgent, workers-normal, workers-cleanup (durable, on GENESYS_JOBS)
//	buckets         genesys-status, genesys-budget, genesys-guard, genesys-locks
//
// The names of scheduled jobs are in names_sched.go, those of delete jobs and legal holds
// (genesys.jobs.delete, workers-delete, genesys-holds) in names_delete.go.
type Names struct {
	// Prefix starts every subject. One or more tokens of A–Z a–z 0–9 '-' '_' separated by
	// dots. Defaults to [audit.DefaultPrefix].
	Prefix string
}

var prefixRE = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)

// Validate reports a prefix that cannot start a subject or name a stream.
func (n Names) Validate() error {
	if n.Prefix != "" && (!prefixRE.MatchString(n.Prefix) || len(n.Prefix) > 64) {
		return fmt.Errorf("jobs: prefix %q: want dot-separated tokens of letters, digits, '-' and '_', at most 64 bytes", n.Prefix)
	}
	return nil
}

func (n Names) EffectivePrefix() string {
	if n.Prefix == "" {
		return audit.DefaultPrefix
	}
	return n.Prefix
}

// upper turns the prefix into a stream-name stem: "genesys" → "GENESYS",
// "acme.genesys" → "ACME_GENESYS".
func (n Names) upper() string {
	return strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(n.EffectivePrefix()))
}

// bucket turns the prefix into a bucket-name stem: "acme.genesys" → "acme-genesys".
func (n Names) bucket() string { return strings.ReplaceAll(n.EffectivePrefix(), ".", "-") }

func (n Names) JobsStream() string     { return n.upper() + "_JOBS" }
func (n Names) AuditStream() string    { return n.upper() + "_AUDIT" }
func (n Names) DeadStream() string     { return n.upper() + "_DEAD" }
func (n Names) AdvisoryStream() string { return n.upper() + "_ADVISORIES" }

func (n Names) UrgentSubject() string { return n.EffectivePrefix() + ".jobs.urgent" }
func (n Names) NormalSubject() string { return n.EffectivePrefix() + ".jobs.normal" }

// ReactivateSubject is where reactivation jobs go, apart from the deactivation lanes, so that the
// NATS permissions can let operators alone publish them (a producer that may deactivate must not
// be able to re-enable a leaver). The normal lane's consumer takes them.
func (n Names) ReactivateSubject() string { return n.EffectivePrefix() + ".jobs." + laneReactivate }
func (n Names) AuditSubjects() string     { return audit.Subjects(n.EffectivePrefix()) }

// CleanupSubject is where the follow-up cleanup jobs of deactivations go, on their own lane and
// consumer, so that a worker takes them only when the urgent and normal lanes are empty (a
// layoff's access cuts never wait behind other leavers' cleanups), and the NATS permissions let
// workers alone publish there.
func (n Names) CleanupSubject() string { return n.EffectivePrefix() + ".jobs." + laneCleanup }
func (n Names) DeadSubjects() string   { return n.EffectivePrefix() + ".dead.>" }

// UserAuditSubject is the subject of the audit event of outcome o about the Genesys user userID:
// <prefix>.audit.user.<o>.<audit.SubjectToken(userID)>.
func (n Names) UserAuditSubject(o audit.Outcome, userID string) string {
	return audit.UserSubject(n.EffectivePrefix(), o, userID)
}

// UserAuditSubjects is the filter of every user audit event of outcome o,
// <prefix>.audit.user.<o>.*, or of every outcome when o is "", <prefix>.audit.user.>.
func (n Names) UserAuditSubjects(o audit.Outcome) string {
	return audit.UserSubjects(n.EffectivePrefix(), o)
}

// OpsAuditSubject is the subject of the ops event of the given kind: <prefix>.audit.ops.<kind>.
func (n Names) OpsAuditSubject(kind string) string {
	return audit.OpsSubject(n.EffectivePrefix(), kind)
}

// DeadSubject is where a dead letter of the given reason (an outcome) goes.
func (n Names) DeadSubject(reason string) string { return n.EffectivePrefix() + ".dead." + reason }

// JobSubject is the lane subject of priority p, without a user token.
func (n Names) JobSubject(p Priority) string {
	if p == PriorityUrgent {
		return n.UrgentSubject()
	}
	return n.NormalSubject()
}

// SubjectFor is where a job is published: its lane and its user's token,
// <prefix>.jobs.<lane>.<token>; a reactivation goes to <prefix>.jobs.reactivate.<token> whatever
// its priority. The token lets a worker see whether an
// earlier job for the same user is still queued, so that jobs for one user
// run in publish order (see UserToken). Jobs published on the bare lane
// subject are carried out too, without that ordering.
func (n Names) SubjectFor(j Job) string { return j.Subject(n.Prefix) + "." + UserToken(j.User) }

// UserJobs is the subject filter of every queued job for a user token.
func (n Names) UserJobs(token string) string { return n.EffectivePrefix() + ".jobs.*." + token }

// cleanupSubjects are the subjects the cleanup consumer takes.
func (n Names) cleanupSubjects() []string {
	s := n.CleanupSubject()
	return []string{s, s + ".*"}
}

// laneSubjects are the subjects one lane's consumer takes: the normal lane also takes
// reactivations.
func (n Names) laneSubjects(p Priority) []string {
	s := n.JobSubject(p)
	if p == PriorityUrgent {
		return []string{s, s + ".*"}
	}
	r := n.ReactivateSubject()
	return []string{s, s + ".*", r, r + ".*"}
}

// UserToken is the subject token of a job's user: the first 16 hex digits of
// the SHA-256 of its identifier key in lower case ("id:…", "external_id:…",
// "user_name:…"). Producers in other languages compute it the same way.
// Ordering holds among jobs that name the user by the same identifier.
func UserToken(u UserRef) string {
	sum := sha256.Sum256([]byte(strings.ToLower(u.Key())))
	return hex.EncodeToString(sum[:8])
}

func (n Names) UrgentConsumer() string { return "workers-urgent" }
func (n Names) NormalConsumer() string { return "workers-normal" }

// CleanupConsumer is the consumer of the cleanup lane.
func (n Names) CleanupConsumer() string { return "workers-cleanup" }

func (n Names) StatusBucket() string { return n.bucket() + "-status" }
func (n Names) BudgetBucket() string { return n.bucket() + "-budget" }
func (n Names) GuardBucket() string  { return n.bucket() + "-guard" }
func (n Names) LocksBucket() string  { return n.bucket() + "-locks" }

// AdvisorySubjects are the JetStream advisories the advisory stream keeps:
// a job that reached MaxDeliver, and a job a worker terminated.
func (n Names) AdvisorySubjects() []string {
	return []string{
		"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + n.JobsStream() + ".*",
		"$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED." + n.JobsStream() + ".*",
	}
}
