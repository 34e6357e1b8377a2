package worker

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
)

// stepProtect ends the job "protected" (dead letter for review, Genesys untouched) when the user
// as it is now is protected (Config.Protect).
var stepProtect = Step{Name: "protect", Phase: PhaseCheck, Every: true, Do: func(_ context.Context, r *Run) error {
	return r.w.cfg.Protect.protected(r.user)
}}

// Protection names users and roles that the worker never deactivates: a job
// for them ends "protected" (dead letter for review), Genesys untouched.
// Matching ignores case. The zero value protects nobody.
type Protection struct {
	UserIDs     []string // Genesys user ids
	UserNames   []string // userNames (emails)
	ExternalIDs []string // SCIM externalIds
	Roles       []string // role names, e.g. "Master Admin"
}

// check returns why u is protected, or "".
func (p Protection) check(u *genesys.User) string {
	has := func(list []string, v string) bool {
		return v != "" && slices.ContainsFunc(list, func(s string) bool { return strings.EqualFold(s, v) })
	}
	switch {
	case has(p.UserIDs, u.ID):
		return "the user id is protected"
	case has(p.UserNames, u.UserName):
		return "the user name is protected"
	case has(p.ExternalIDs, u.ExternalID):
		return "the external id is protected"
	}
	for _, role := range u.RoleNames() {
		if has(p.Roles, role) {
			return fmt.Sprintf("the user holds the protected role %q", role)
		}
	}
	return ""
}

// protectedError says why a user is protected: the job ends "protected".
type protectedError string

func (e protectedError) Error() string { return "jobs: " + string(e) }

// protected returns a protectedError when u is protected, else nil.
func (p Protection) protected(u *genesys.User) error {
	if why := p.check(u); why != "" {
		return protectedError(why)
	}
	return nil
}

// recheck runs on every re-read of the user after a version conflict,
// before the PATCH is sent again. The conflict means the user changed since
// the first read: a role may have been granted meanwhile (Master Admin,
// say). So the safety rules are checked again on the user as it now is, and
// what the audit event records as held before the change is what the user
// holds now. After grants were removed to unblock the deactivation, the
// roles recorded before the removal stay: they are what the user held.
func (r *Run) recheck(u *genesys.User) error {
	s := &r.st.Steps
	if len(s.GrantsRemoved) == 0 {
		s.RolesBefore = u.RoleNames()
	}
	s.UserName, s.ExternalID = u.UserName, u.ExternalID
	return r.w.cfg.Protect.protected(u)
}
