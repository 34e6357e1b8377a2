package audit

// DefaultPrefix is the subject prefix of a deployment when none is configured. Every stream,
// subject, consumer and bucket name derives from it (jobs.Names); it lives here, below package
// jobs, because the publisher and the relay of this package default to it too.
const DefaultPrefix = "genesys"

// The subjects of audit events, after the prefix. These are the one place that spells them: the
// publisher, the worker's undo (which reads a user's last deactivation), genesysctl's readers,
// the relay's default filter and jobs.Names all build their subjects with the functions below.
const (
	routeAudit = "audit."
	routeUser  = routeAudit + "user."
	routeOps   = routeAudit + "ops."
)

// userRoute is the subject of a user event after the prefix: audit.user.<outcome>.<user token>.
func userRoute(o Outcome, userID string) string {
	return routeUser + string(o) + "." + SubjectToken(userID)
}

// Subjects is the filter of every audit event of a deployment: <prefix>.audit.>.
func Subjects(prefix string) string { return prefix + "." + routeAudit + ">" }

// UserSubject is the subject of the user event of outcome o about the Genesys user userID:
// <prefix>.audit.user.<o>.<SubjectToken(userID)>.
func UserSubject(prefix string, o Outcome, userID string) string {
	return prefix + "." + userRoute(o, userID)
}

// UserSubjects is the filter of every user event of outcome o, <prefix>.audit.user.<o>.*, or of
// every user event whatever its outcome when o is "", <prefix>.audit.user.>.
func UserSubjects(prefix string, o Outcome) string {
	if o == "" {
		return prefix + "." + routeUser + ">"
	}
	return prefix + "." + routeUser + string(o) + ".*"
}

// OpsSubject is the subject of the ops event of the given kind: <prefix>.audit.ops.<kind>.
func OpsSubject(prefix, kind string) string { return prefix + "." + routeOps + kind }
