package jobs

import (
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
)

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
func (r *jobRun) recheck(u *genesys.User) error {
	s := &r.st.Steps
	if len(s.GrantsRemoved) == 0 {
		s.RolesBefore = u.RoleNames()
	}
	s.UserName, s.ExternalID = u.UserName, u.ExternalID
	return r.w.cfg.Protect.protected(u)
}
