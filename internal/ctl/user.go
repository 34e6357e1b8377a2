package ctl

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// parseUser reads a USER argument or --user value: a key as the status records and events write
// it (id:…, user_name:…, external_id:…), or a bare identifier: a UUID is a user id, a value with
// '@' a userName, anything else an externalId. The identifier must pass the job schema's rules,
// so that what an operator names is what a job could name.
func parseUser(s string) (jobs.UserRef, error) {
	kind, v, ok := strings.Cut(s, ":")
	var u jobs.UserRef
	switch {
	case ok && kind == "id":
		u.ID = strings.ToLower(v)
	case ok && kind == "user_name":
		u.UserName = v
	case ok && kind == "external_id":
		u.ExternalID = v
	case uuidRE.MatchString(s):
		u.ID = strings.ToLower(s)
	case strings.Contains(s, "@"):
		u.UserName = s
	default:
		u.ExternalID = s
	}
	err := jobs.Job{Version: jobs.Version, ID: "x", Action: jobs.ActionDeactivate, User: u, RequestedBy: "x"}.Validate()
	if u.Key() == "" || err != nil {
		return jobs.UserRef{}, fmt.Errorf("user %q: want a user id, a userName (an email), an externalId, or id:…, user_name:…, external_id:…: %v",
			clip(s, 100), err)
	}
	return u, nil
}
