package genesys

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// SCIM schema URNs.
const (
	SchemaUser    = "urn:ietf:params:scim:schemas:core:2.0:User"
	SchemaPatchOp = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

// userAttributes are the SCIM attributes the client asks for: what the
// deactivation plan and its audit record use, no more (roles and externalId
// cost Genesys extra lookups, but the plan needs both).
const userAttributes = "id,userName,displayName,active,externalId,emails,roles,meta"

// ErrAmbiguous: a SCIM search meant to find one user matched several.
var ErrAmbiguous = errors.New("genesys: more than one user matches")

// ErrWrongUser: Genesys answered a read or a search with a user other than the one asked for
// (another id, userName or externalId). The client never hands such a user on as the one asked
// for: acting on it would change somebody else.
var ErrWrongUser = errors.New("genesys: the answer names another user")

// UsersService reads and changes users through SCIM v2
// (/api/v2/scim/v2/users) and reads their roles through the platform API.
type UsersService service

// User is a Genesys Cloud user as SCIM shows it, limited to the attributes
// this client asks for.
type User struct {
	ID          string       `json:"id"`
	UserName    string       `json:"userName"`
	DisplayName string       `json:"displayName,omitempty"`
	ExternalID  string       `json:"externalId,omitempty"`
	Active      bool         `json:"active"`
	Emails      []MultiValue `json:"emails,omitempty"`
	Roles       []MultiValue `json:"roles,omitempty"`
	Meta        Meta         `json:"meta"`
}

// RoleNames lists the names of the roles SCIM reports for the user.
func (u *User) RoleNames() []string {
	names := make([]string, 0, len(u.Roles))
	for _, r := range u.Roles {
		names = append(names, r.Value)
	}
	return names
}

// MultiValue is a SCIM multi-valued attribute entry (emails, roles).
type MultiValue struct {
	Value   string `json:"value"`
	Type    string `json:"type,omitempty"`
	Primary bool   `json:"primary,omitempty"`
}

// Meta is SCIM resource metadata. Version equals the ETag, without quotes.
type Meta struct {
	ResourceType string `json:"resourceType,omitempty"`
	LastModified string `json:"lastModified,omitempty"`
	Location     string `json:"location,omitempty"`
	Version      string `json:"version,omitempty"`
}

// scimUser is the wire form: Active is a pointer so that a body without
// "active" is caught rather than read as false.
type scimUser struct {
	User
	Active *bool `json:"active"`
}

// user checks the wire form and returns the user. An id that is not a UUID
// is refused here, where it enters: it would otherwise reach API paths and
// NATS keys ("../../tokens/me").
func (w *scimUser) user(resp *Response, method, path string) (*User, error) {
	if w.ID == "" || w.Active == nil {
		return nil, fmt.Errorf("%w: %s %s: user without id or active", ErrUnexpectedResponse, method, path)
	}
	if checkID(w.ID) != nil { // an unexpected response like any malformed body, not an invalid argument of ours
		return nil, fmt.Errorf("%w: %s %s answered a user whose id %q is not a UUID", ErrUnexpectedResponse, method, path, truncate(w.ID, 64))
	}
	u := w.User
	u.Active = *w.Active
	if u.Meta.Version == "" && resp != nil {
		u.Meta.Version = unquoteETag(resp.Header.Get("ETag"))
	}
	return &u, nil
}

// Get reads a user by Genesys user id. Genesys does not document whether an
// inactive user can be read by id: if the read answers 404, Get searches
// once more with `id eq "<id>" and active eq false` and returns the inactive
// user if that finds one. An unknown user is ErrNotFound either way.
func (s *UsersService) Get(ctx context.Context, id string) (*User, *Response, error) {
	if err := checkID(id); err != nil {
		return nil, nil, err
	}
	path := "api/v2/scim/v2/users/" + id + "?attributes=" + url.QueryEscape(userAttributes)
	req, err := s.client.newRequest(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, nil, err
	}
	var w scimUser
	resp, err := s.client.do(req, &w)
	var u *User
	if errors.Is(err, ErrNotFound) {
		f, _ := FilterEq("id", id)
		u, resp, err = s.searchInactive(ctx, f, resp, err)
	} else if err == nil {
		u, err = w.user(resp, req.Method, req.URL.Path)
	}
	if err == nil {
		err = sameUser(u, "id", id)
	}
	if err != nil {
		return nil, resp, err
	}
	return u, resp, nil
}

// FindByExternalID finds the one user whose SCIM externalId equals
// externalID. See FindByUserName for the calls it makes.
func (s *UsersService) FindByExternalID(ctx context.Context, externalID string) (*User, *Response, error) {
	return s.findOne(ctx, "externalId", externalID)
}

// FindByUserName finds the one user whose SCIM userName (their primary
// email) equals userName. Genesys lists only active users unless the filter
// asks for inactive ones, so when the first search finds nobody a second
// one adds `and active eq false`. ErrNotFound when neither finds the user,
// ErrAmbiguous when a search matches several.
func (s *UsersService) FindByUserName(ctx context.Context, userName string) (*User, *Response, error) {
	return s.findOne(ctx, "userName", userName)
}

func (s *UsersService) findOne(ctx context.Context, attr, value string) (*User, *Response, error) {
	f, err := FilterEq(attr, value)
	if err != nil {
		return nil, nil, err
	}
	u, resp, err := s.searchOne(ctx, f)
	if errors.Is(err, ErrNotFound) {
		u, resp, err = s.searchInactive(ctx, f, resp, err)
	}
	if err == nil {
		err = sameUser(u, attr, value)
	}
	if err != nil {
		return nil, resp, err
	}
	return u, resp, nil
}

// sameUser checks that u is the user asked for by attr = value: ids and
// userNames compare without case (SCIM's userName is case-insensitive),
// externalIds exactly (SCIM's externalId is case-exact). Genesys's answer is
// not trusted to match its filter: a filter quirk or a proxy in between
// must not make the worker change somebody else.
func sameUser(u *User, attr, value string) error {
	var got string
	var same bool
	switch attr {
	case "id":
		got, same = u.ID, strings.EqualFold(u.ID, value)
	case "userName":
		got, same = u.UserName, strings.EqualFold(u.UserName, value)
	default:
		got, same = u.ExternalID, u.ExternalID == value
	}
	if same {
		return nil
	}
	return fmt.Errorf("%w: asked for %s %q, Genesys answered with user %s whose %s is %q",
		ErrWrongUser, attr, truncate(value, 256), u.ID, attr, truncate(got, 256))
}

// searchInactive repeats a search that found nobody, for inactive users. If
// Genesys refuses the compound filter (400; its support for "and" is not
// documented), the first not-found answer stands.
func (s *UsersService) searchInactive(ctx context.Context, filter string, resp *Response, notFound error) (*User, *Response, error) {
	u, resp2, err := s.searchOne(ctx, filter+" and active eq false")
	if errors.Is(err, ErrBadRequest) {
		return nil, resp, notFound
	}
	return u, resp2, err
}

func (s *UsersService) searchOne(ctx context.Context, filter string) (*User, *Response, error) {
	list, resp, err := s.List(ctx, &ListOptions{Filter: filter, Count: 2})
	if err != nil {
		return nil, resp, err
	}
	switch len(list.Resources) {
	case 0:
		return nil, resp, fmt.Errorf("genesys: search users %s: %w", filter, ErrNotFound)
	case 1:
		return &list.Resources[0], resp, nil
	}
	return nil, resp, fmt.Errorf("genesys: search users %s: %w (%d)", filter, ErrAmbiguous, list.TotalResults)
}

// ListOptions selects a page of users. StartIndex is 1-based; Count 0 means
// Genesys's default page (25), which is also its documented safe maximum.
type ListOptions struct {
	Filter     string
	StartIndex int
	Count      int
}

// UserList is a SCIM ListResponse of users.
type UserList struct {
	TotalResults int    `json:"totalResults"`
	StartIndex   int    `json:"startIndex"`
	ItemsPerPage int    `json:"itemsPerPage"`
	Resources    []User `json:"Resources"`
}

// List reads a page of users. Without a filter Genesys lists active users
// only; a filter including `active eq false` lists inactive ones.
func (s *UsersService) List(ctx context.Context, opts *ListOptions) (*UserList, *Response, error) {
	q := url.Values{"attributes": {userAttributes}}
	if opts != nil {
		if opts.Filter != "" {
			q.Set("filter", opts.Filter)
		}
		if opts.StartIndex > 0 {
			q.Set("startIndex", strconv.Itoa(opts.StartIndex))
		}
		if opts.Count > 0 {
			q.Set("count", strconv.Itoa(opts.Count))
		}
	}
	req, err := s.client.newRequest(ctx, http.MethodGet, "api/v2/scim/v2/users?"+q.Encode(), nil)
	if err != nil {
		return nil, nil, err
	}
	var wire struct {
		UserList
		Resources []scimUser `json:"Resources"`
	}
	resp, err := s.client.do(req, &wire)
	if err != nil {
		return nil, resp, err
	}
	list := wire.UserList
	list.Resources = make([]User, 0, len(wire.Resources))
	for i := range wire.Resources {
		u, err := wire.Resources[i].user(nil, req.Method, req.URL.Path)
		if err != nil {
			return nil, resp, err
		}
		list.Resources = append(list.Resources, *u)
	}
	return &list, resp, nil
}

// checkID accepts only a Genesys user id, which is a UUID. Anything else
// (a path segment like "..", an escaped slash, a filter) never reaches a URL.
func checkID(id string) error { return checkUUID("user", id) }

// checkUUID is checkID for the id of any Genesys entity documented as a
// globally unique identifier (queues, stations, flows, OAuth clients,
// management units, presence definitions); kind names it in the error.
func checkUUID(kind, id string) error {
	if !isUUID(id) {
		return fmt.Errorf("%w: %s id %q is not a UUID", ErrInvalidArgument, kind, truncate(id, 64))
	}
	return nil
}

func isUUID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// checkSegment accepts an id whose form Genesys does not document (an MFA
// verifier's): 1 to 128 letters, digits, '-' or '_', so that it stays one
// path segment and cannot climb out of it.
func checkSegment(kind, id string) error {
	ok := len(id) > 0 && len(id) <= 128
	for i := 0; ok && i < len(id); i++ {
		c := id[i]
		ok = c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_'
	}
	if !ok {
		return fmt.Errorf("%w: %s id %q is not a plain id", ErrInvalidArgument, kind, truncate(id, 64))
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// quoteETag turns a version into an If-Match value: `"42"`. A value that
// is already quoted (or weak, W/"42") is sent as it is.
func quoteETag(v string) string {
	if strings.HasPrefix(v, `"`) || strings.HasPrefix(v, `W/"`) {
		return v
	}
	return strconv.Quote(v)
}

// unquoteETag turns `"42"` or `W/"42"` into 42.
func unquoteETag(v string) string {
	v = strings.TrimPrefix(strings.TrimSpace(v), "W/")
	if s, err := strconv.Unquote(v); err == nil {
		return s
	}
	return v
}
