package genesys

import (
	"context"
	"fmt"
	"net/http"
)

// AuthorizationService reads and removes a user's role grants
// (/api/v2/authorization/subjects). Grants pair a role with a division.
type AuthorizationService service

// NamedEntity is a Genesys reference: an id and a name.
type NamedEntity struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// UserAuthorization is GET /api/v2/users/{id}/roles.
type UserAuthorization struct {
	Roles       []NamedEntity `json:"roles"`
	UnusedRoles []NamedEntity `json:"unusedRoles,omitempty"`
	Permissions []string      `json:"permissions,omitempty"`
}

// Roles reads the roles granted to a user (permission authorization:grant:view).
func (s *UsersService) Roles(ctx context.Context, id string) (*UserAuthorization, *Response, error) {
	if err := checkID(id); err != nil {
		return nil, nil, err
	}
	req, err := s.client.newRequest(ctx, http.MethodGet, "api/v2/users/"+id+"/roles", nil)
	if err != nil {
		return nil, nil, err
	}
	var a UserAuthorization
	resp, err := s.client.do(req, &a)
	if err != nil {
		return nil, resp, err
	}
	return &a, resp, nil
}

// Subject is GET /api/v2/authorization/subjects/{id}: the user's grants.
type Subject struct {
	ID      string  `json:"id"`
	Name    string  `json:"name,omitempty"`
	Version int     `json:"version,omitempty"`
	Grants  []Grant `json:"grants"`
}

// Grant is one role held in one division.
type Grant struct {
	SubjectID   string   `json:"subjectId,omitempty"`
	Division    Division `json:"division"`
	Role        Role     `json:"role"`
	GrantMadeAt string   `json:"grantMadeAt,omitempty"`
}

// Division is a Genesys division.
type Division struct {
	ID           string `json:"id"`
	Name         string `json:"name,omitempty"`
	HomeDivision bool   `json:"homeDivision,omitempty"`
}

// Role is a Genesys authorization role.
type Role struct {
	ID          string `json:"id"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	Default     bool   `json:"default,omitempty"`
}

// Subject reads a user's grants, each role with its division (permission
// authorization:grant:view).
func (s *AuthorizationService) Subject(ctx context.Context, id string) (*Subject, *Response, error) {
	if err := checkID(id); err != nil {
		return nil, nil, err
	}
	req, err := s.client.newRequest(ctx, http.MethodGet, "api/v2/authorization/subjects/"+id, nil)
	if err != nil {
		return nil, nil, err
	}
	var sub Subject
	resp, err := s.client.do(req, &sub)
	if err != nil {
		return nil, resp, err
	}
	return &sub, resp, nil
}

// GrantRef names a grant to remove.
type GrantRef struct {
	RoleID     string `json:"roleId"`
	DivisionID string `json:"divisionId"`
}

// RemoveGrants removes grants from a user
// (POST /api/v2/authorization/subjects/{id}/bulkremove, permission
// authorization:grant:delete). Genesys answers 204.
func (s *AuthorizationService) RemoveGrants(ctx context.Context, id string, grants []GrantRef) (*Response, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	body := struct {
		Grants []GrantRef `json:"grants"`
	}{grants}
	req, err := s.client.newRequest(ctx, http.MethodPost, "api/v2/authorization/subjects/"+id+"/bulkremove", body)
	if err != nil {
		return nil, err
	}
	return s.client.do(req, nil)
}

// AddGrants grants roles in divisions to a user
// (POST /api/v2/authorization/subjects/{id}/bulkadd, permission
// authorization:grant:add; in the official SDKs, not in the fact sheet).
// Genesys answers 204.
func (s *AuthorizationService) AddGrants(ctx context.Context, id string, grants []GrantRef) (*Response, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	body := struct {
		Grants []GrantRef `json:"grants"`
	}{grants}
	req, err := s.client.newRequest(ctx, http.MethodPost, "api/v2/authorization/subjects/"+id+"/bulkadd", body)
	if err != nil {
		return nil, err
	}
	return s.client.do(req, nil)
}

// Queue is a routing queue a user has joined.
type Queue struct {
	ID       string   `json:"id"`
	Name     string   `json:"name,omitempty"`
	Division Division `json:"division"`
	Joined   bool     `json:"joined"`
}

// Queues lists the queues the user has joined (GET /api/v2/users/{id}/queues,
// permission routing:queue:view), reading every page of 100.
func (s *UsersService) Queues(ctx context.Context, id string) ([]Queue, []*Response, error) {
	if err := checkID(id); err != nil {
		return nil, nil, err
	}
	var out []Queue
	var resps []*Response
	for page := 1; page <= 100; page++ {
		req, err := s.client.newRequest(ctx, http.MethodGet, fmt.Sprintf("api/v2/users/%s/queues?pageSize=100&pageNumber=%d", id, page), nil)
		if err != nil {
			return nil, resps, err
		}
		var list struct {
			Entities  []Queue `json:"entities"`
			PageCount int     `json:"pageCount"`
		}
		resp, err := s.client.do(req, &list)
		resps = appendResp(resps, resp)
		if err != nil {
			return nil, resps, err
		}
		out = append(out, list.Entities...)
		if page >= list.PageCount || len(list.Entities) == 0 {
			break
		}
	}
	return out, resps, nil
}
