package genesys

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// patchRequest is a SCIM PatchOp. Genesys spells the key "Operations".
type patchRequest struct {
	Schemas    []string  `json:"schemas"`
	Operations []patchOp `json:"Operations"`
}

type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path,omitempty"`
	Value any    `json:"value,omitempty"`
}

// Deactivate sets active=false on the user with a SCIM PATCH. A non-empty
// version is sent as If-Match, so a concurrent change makes the call fail
// with ErrVersionConflict instead of overwriting it. The 200 body must show
// active:false, else the error is ErrUnexpectedResponse.
func (s *UsersService) Deactivate(ctx context.Context, id, version string) (*User, *Response, error) {
	return s.SetActive(ctx, id, version, false)
}

// Reactivate sets active=true; see Deactivate.
func (s *UsersService) Reactivate(ctx context.Context, id, version string) (*User, *Response, error) {
	return s.SetActive(ctx, id, version, true)
}

// SetActive PATCHes the user's active flag; see Deactivate.
func (s *UsersService) SetActive(ctx context.Context, id, version string, active bool) (*User, *Response, error) {
	if err := checkID(id); err != nil {
		return nil, nil, err
	}
	body := patchRequest{
		Schemas:    []string{SchemaPatchOp},
		Operations: []patchOp{{Op: "replace", Path: "active", Value: active}},
	}
	req, err := s.client.newRequest(ctx, http.MethodPatch, "api/v2/scim/v2/users/"+id, body)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/scim+json")
	if version != "" {
		req.Header.Set("If-Match", quoteETag(version))
	}
	var w scimUser
	resp, err := s.client.do(req, &w)
	if err != nil {
		return nil, resp, err
	}
	u, err := w.user(resp, req.Method, req.URL.Path)
	if err != nil {
		return nil, resp, err
	}
	if u.Active != active {
		return u, resp, fmt.Errorf("%w: %s %s answered 200 with active:%t", ErrUnexpectedResponse, req.Method, req.URL.Path, u.Active)
	}
	return u, resp, nil
}

// EnsureResult reports what EnsureActive did.
type EnsureResult struct {
	User      *User       // the user as Genesys last showed it
	Changed   bool        // whether this call's PATCH changed the flag
	Responses []*Response // every response received, in order
}

// EnsureActive brings the user u (as last read) to the wanted active state.
// If u already has it, nothing is sent. Otherwise it PATCHes with u's
// version; on a version conflict it reads the user again and retries, at
// most maxConflicts times. A re-read that shows the wanted state ends the
// call: Changed is false (somebody else made the change) unless the
// conflicting PATCH had been retried after a lost answer, in which case its
// earlier attempt is what changed the user and Changed is true.
func (s *UsersService) EnsureActive(ctx context.Context, u *User, active bool, maxConflicts int) (*EnsureResult, error) {
	return s.EnsureActiveChecked(ctx, u, active, maxConflicts, nil)
}

// EnsureActiveChecked is EnsureActive with a check that every re-read user
// must pass before the next PATCH. A version conflict means the user changed
// since the caller decided to change it (a role granted, say), so whatever
// the caller checked on its first read is checked again on the user as it
// now is. When check returns an error, nothing more is sent and the error is
// returned as it is, with res.User the re-read user. A nil check checks
// nothing.
func (s *UsersService) EnsureActiveChecked(ctx context.Context, u *User, active bool, maxConflicts int, check func(*User) error) (*EnsureResult, error) {
	res := &EnsureResult{User: u}
	for conflicts := 0; ; conflicts++ {
		if res.User.Active == active {
			return res, nil
		}
		nu, resp, err := s.SetActive(ctx, res.User.ID, res.User.Meta.Version, active)
		res.Responses = appendResp(res.Responses, resp)
		if err == nil {
			res.User, res.Changed = nu, true
			return res, nil
		}
		if !errors.Is(err, ErrVersionConflict) || conflicts >= maxConflicts {
			return res, err
		}
		// A conflict on a retried PATCH: the lost first attempt may have applied.
		res.Changed = resp != nil && resp.Attempts > 1
		fresh, resp, err := s.Get(ctx, res.User.ID)
		res.Responses = appendResp(res.Responses, resp)
		if err != nil {
			return res, err
		}
		res.User = fresh
		res.Changed = res.Changed && fresh.Active == active
		if check != nil && fresh.Active != active {
			if err := check(fresh); err != nil {
				return res, err
			}
		}
	}
}

func appendResp(list []*Response, r *Response) []*Response {
	if r == nil {
		return list
	}
	return append(list, r)
}

// AddRoles grants roles by name through SCIM (PATCH op add on "roles";
// permission directory:user:edit or authorization:grant:add). SCIM roles
// have no division: Genesys grants them in the home division. Use
// Authorization.AddGrants to restore grants in their divisions.
func (s *UsersService) AddRoles(ctx context.Context, id string, roles []string) (*User, *Response, error) {
	if err := checkID(id); err != nil {
		return nil, nil, err
	}
	values := make([]MultiValue, 0, len(roles))
	for _, r := range roles {
		values = append(values, MultiValue{Value: r})
	}
	body := patchRequest{Schemas: []string{SchemaPatchOp}, Operations: []patchOp{{Op: "add", Path: "roles", Value: values}}}
	req, err := s.client.newRequest(ctx, http.MethodPatch, "api/v2/scim/v2/users/"+id, body)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/scim+json")
	var w scimUser
	resp, err := s.client.do(req, &w)
	if err != nil {
		return nil, resp, err
	}
	u, err := w.user(resp, req.Method, req.URL.Path)
	return u, resp, err
}
