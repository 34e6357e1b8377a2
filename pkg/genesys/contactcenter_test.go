package genesys

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Ids of the entities the contact-center calls name.
const (
	testQueueID   = "0b7c3f7e-5a1d-4e2f-8c3b-111111111111"
	testStationID = "1c8d4a8f-6b2e-4f3a-9d4c-222222222222"
	testFlowID    = "2d9e5b9a-7c3f-4a4b-8e5d-333333333333"
	testClientID2 = "3eaf6cab-8d4a-4b5c-9f6e-444444444444"
	testUnitID    = "4fb07dbc-9e5b-4c6d-8a7f-555555555555"
	testPresOff   = "ccf3c10a-aa2c-4845-8e8d-f59fa48c58e5"
	testOtherUser = "5ac18ecd-af6c-4d7e-9b8a-666666666666"
)

// seenRequest is what the fake Genesys received.
type seenRequest struct {
	Method, Path string
	Query        url.Values
	Body         string
}

// recorder answers every API request with status and reply and records it.
type recorder struct {
	mu   sync.Mutex
	reqs []seenRequest
}

func (rec *recorder) handle(b *testBundle, status int, reply string) {
	b.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, seenRequest{r.Method, r.URL.Path, r.URL.Query(), string(body)})
		rec.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, reply)
	})
}

func (rec *recorder) requests() []seenRequest {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]seenRequest(nil), rec.reqs...)
}

// ccCall is one contact-center call: what it must send, a realistic answer
// (shapes from the official SDK docs) and what the client must make of it.
type ccCall struct {
	name   string
	method string
	path   string
	query  url.Values // exactly these parameters (nil: none)
	body   string     // exactly this JSON ("" : no body)
	status int
	reply  string
	call   func(context.Context, *Client) (any, error)
	want   any
	// notFound is what a 404 must give: ErrNotFound, or nil where a 404 is
	// an answer (WFM: a user in no unit).
	notFound error
}

func ccCalls() []ccCall {
	u := testUserID
	return []ccCall{
		{
			name: "Routing.Status", method: "GET", path: "/api/v2/users/" + u + "/routingstatus",
			status: 200, reply: `{"userId":"` + u + `","status":"IDLE","startTime":"2026-03-02T08:15:00.000Z"}`,
			call: func(ctx context.Context, c *Client) (any, error) {
				r, _, err := c.Routing.Status(ctx, u)
				return r, err
			},
			want: &RoutingStatus{UserID: u, Status: RoutingIdle, StartTime: "2026-03-02T08:15:00.000Z"}, notFound: ErrNotFound,
		},
		{
			name: "Routing.SetStatus", method: "PUT", path: "/api/v2/users/" + u + "/routingstatus",
			body:   `{"status":"OFF_QUEUE"}`,
			status: 200, reply: `{"userId":"` + u + `","status":"OFF_QUEUE","startTime":"2026-03-02T09:00:00.000Z"}`,
			call: func(ctx context.Context, c *Client) (any, error) {
				r, _, err := c.Routing.SetStatus(ctx, u, RoutingOffQueue)
				return r, err
			},
			want: &RoutingStatus{UserID: u, Status: RoutingOffQueue, StartTime: "2026-03-02T09:00:00.000Z"}, notFound: ErrNotFound,
		},
		{
			name: "Routing.QueueMembers", method: "GET", path: "/api/v2/routing/queues/" + testQueueID + "/members",
			query:  url.Values{"pageSize": {"100"}, "pageNumber": {"1"}, "name": {"Jane Doe"}, "memberBy": {"user"}},
			status: 200, reply: `{"entities":[{"id":"` + u + `","name":"Jane Doe","user":{"id":"` + u + `","name":"Jane Doe"},"ringNumber":1,"joined":true,"memberBy":"user","routingStatus":{"status":"IDLE"},"selfUri":"/api/v2/users/` + u + `"}],"pageSize":100,"pageNumber":1,"total":1,"pageCount":1}`,
			call: func(ctx context.Context, c *Client) (any, error) {
				r, _, err := c.Routing.QueueMembers(ctx, testQueueID, QueueMemberOptions{Name: "Jane Doe", MemberBy: MemberByUser})
				return r, err
			},
			want: []QueueMember{{ID: u, Name: "Jane Doe", Joined: true, MemberBy: MemberByUser}}, notFound: ErrNotFound,
		},
		{
			name: "Routing.RemoveMember", method: "DELETE", path: "/api/v2/routing/queues/" + testQueueID + "/members/" + u,
			status: 204,
			call: func(ctx context.Context, c *Client) (any, error) {
				_, err := c.Routing.RemoveMember(ctx, testQueueID, u)
				return nil, err
			},
			notFound: ErrNotFound,
		},
		{
			name: "Routing.AddMembers", method: "POST", path: "/api/v2/routing/queues/" + testQueueID + "/members",
			body:   `[{"id":"` + u + `"},{"id":"` + testOtherUser + `"}]`,
			status: 204,
			call: func(ctx context.Context, c *Client) (any, error) {
				_, err := c.Routing.AddMembers(ctx, testQueueID, []string{u, testOtherUser})
				return nil, err
			},
			notFound: ErrNotFound,
		},
		{
			name: "Presence.Definitions", method: "GET", path: "/api/v2/presence/definitions",
			status: 200, reply: `{"entities":[
				{"id":"6a3af858-942f-489d-9700-5f9bcdcdae9b","name":"Available","type":"System","languageLabels":{"en_US":"Available"},"systemPresence":"Available","divisionId":"*","deactivated":false,"selfUri":"/api/v2/presence/definitions/6a3af858-942f-489d-9700-5f9bcdcdae9b"},
				{"id":"` + testPresOff + `","name":"Offline","type":"System","languageLabels":{"en_US":"Offline"},"systemPresence":"Offline","divisionId":"*","deactivated":false}],
				"total":2,"pageCount":1}`,
			call: func(ctx context.Context, c *Client) (any, error) {
				r, _, err := c.Presence.Definitions(ctx)
				return r, err
			},
			want: []PresenceDefinition{
				{ID: "6a3af858-942f-489d-9700-5f9bcdcdae9b", SystemPresence: PresenceAvailable, Type: "System", LanguageLabels: map[string]string{"en_US": "Available"}},
				{ID: testPresOff, SystemPresence: PresenceOffline, Type: "System", LanguageLabels: map[string]string{"en_US": "Offline"}},
			},
			notFound: ErrNotFound,
		},
		{
			name: "Presence.Get", method: "GET", path: "/api/v2/users/" + u + "/presences/purecloud",
			status: 200, reply: `{"source":"PURECLOUD","primary":true,"presenceDefinition":{"id":"6a3af858-942f-489d-9700-5f9bcdcdae9b","systemPresence":"Available","selfUri":"/api/v2/presencedefinitions/6a3af858-942f-489d-9700-5f9bcdcdae9b"},"message":"","modifiedDate":"2026-03-02T08:10:00.000Z","selfUri":"/api/v2/users/` + u + `/presences/purecloud"}`,
			call: func(ctx context.Context, c *Client) (any, error) { r, _, err := c.Presence.Get(ctx, u); return r, err },
			want: &UserPresence{PresenceDefinition: PresenceDefinition{ID: "6a3af858-942f-489d-9700-5f9bcdcdae9b", SystemPresence: PresenceAvailable},
				Source: "PURECLOUD", ModifiedDate: "2026-03-02T08:10:00.000Z"},
			notFound: ErrNotFound,
		},
		{
			name: "Presence.Set", method: "PATCH", path: "/api/v2/users/" + u + "/presences/purecloud",
			body:   `{"presenceDefinition":{"id":"` + testPresOff + `"}}`,
			status: 200, reply: `{"source":"PURECLOUD","presenceDefinition":{"id":"` + testPresOff + `","systemPresence":"Offline"},"modifiedDate":"2026-03-02T09:00:01.000Z"}`,
			call: func(ctx context.Context, c *Client) (any, error) {
				r, _, err := c.Presence.Set(ctx, u, testPresOff)
				return r, err
			},
			want: &UserPresence{PresenceDefinition: PresenceDefinition{ID: testPresOff, SystemPresence: PresenceOffline},
				Source: "PURECLOUD", ModifiedDate: "2026-03-02T09:00:01.000Z"},
			notFound: ErrNotFound,
		},
		{
			name: "Stations.Get", method: "GET", path: "/api/v2/users/" + u + "/station",
			status: 200, reply: `{
				"associatedStation":{"id":"` + testStationID + `","name":"Jane's WebRTC","type":"inin_webrtc_softphone","associatedUser":{"id":"` + u + `"},"associatedDate":"2026-03-02T08:00:00.000Z","defaultUser":{"id":"` + u + `"},"providerInfo":{"edgeGroupId":"ffe7b15c-a9cc-4f4c-88f5-781327819a49"}},
				"effectiveStation":{"id":"` + testStationID + `","name":"Jane's WebRTC","type":"inin_webrtc_softphone"},
				"defaultStation":{"id":"` + testStationID + `","name":"Jane's WebRTC","type":"inin_webrtc_softphone"}}`,
			call: func(ctx context.Context, c *Client) (any, error) { r, _, err := c.Stations.Get(ctx, u); return r, err },
			want: &UserStations{
				AssociatedStation: &StationRef{ID: testStationID, Name: "Jane's WebRTC", Type: "inin_webrtc_softphone", AssociatedDate: "2026-03-02T08:00:00.000Z"},
				EffectiveStation:  &StationRef{ID: testStationID, Name: "Jane's WebRTC", Type: "inin_webrtc_softphone"},
				DefaultStation:    &StationRef{ID: testStationID, Name: "Jane's WebRTC", Type: "inin_webrtc_softphone"},
			},
			notFound: ErrNotFound,
		},
		{
			name: "Stations.ClearAssociated", method: "DELETE", path: "/api/v2/users/" + u + "/station/associatedstation",
			status: 202,
			call: func(ctx context.Context, c *Client) (any, error) {
				_, err := c.Stations.ClearAssociated(ctx, u)
				return nil, err
			},
			notFound: ErrNotFound,
		},
		{
			name: "Stations.ClearDefault", method: "DELETE", path: "/api/v2/users/" + u + "/station/defaultstation",
			status: 204,
			call: func(ctx context.Context, c *Client) (any, error) {
				_, err := c.Stations.ClearDefault(ctx, u)
				return nil, err
			},
			notFound: ErrNotFound,
		},
		{
			name: "Stations.SetDefault", method: "PUT", path: "/api/v2/users/" + u + "/station/defaultstation/" + testStationID,
			status: 204,
			call: func(ctx context.Context, c *Client) (any, error) {
				_, err := c.Stations.SetDefault(ctx, u, testStationID)
				return nil, err
			},
			notFound: ErrNotFound,
		},
		{
			name: "CallForwarding.Get", method: "GET", path: "/api/v2/users/" + u + "/callforwarding",
			status: 200, reply: `{"id":"` + u + `","user":{"id":"` + u + `","name":"Jane Doe"},"enabled":true,"phoneNumber":"+15551230000",
				"calls":[{"targets":[{"type":"PHONENUMBER","value":"+15551230000"}]},{"targets":[{"type":"STATION","value":"` + testStationID + `"}]}],
				"voicemail":"PURECLOUD","modifiedDate":"2026-02-01T10:00:00.000Z","selfUri":"/api/v2/users/` + u + `/callforwarding"}`,
			call: func(ctx context.Context, c *Client) (any, error) {
				r, _, err := c.CallForwarding.Get(ctx, u)
				return r, err
			},
			want: &CallForwarding{Enabled: true, Voicemail: "PURECLOUD", Calls: []ForwardingCall{
				{Targets: []ForwardingTarget{{Type: "PHONENUMBER", Value: "+15551230000"}}},
				{Targets: []ForwardingTarget{{Type: "STATION", Value: testStationID}}},
			}},
			notFound: ErrNotFound,
		},
		{
			name: "CallForwarding.Patch", method: "PATCH", path: "/api/v2/users/" + u + "/callforwarding",
			body:   `{"enabled":false}`,
			status: 200, reply: `{"id":"` + u + `","enabled":false,"calls":[{"targets":[{"type":"PHONENUMBER","value":"+15551230000"}]}],"voicemail":"PURECLOUD"}`,
			call: func(ctx context.Context, c *Client) (any, error) {
				r, _, err := c.CallForwarding.Patch(ctx, u, CallForwarding{Enabled: false})
				return r, err
			},
			want: &CallForwarding{Enabled: false, Voicemail: "PURECLOUD", Calls: []ForwardingCall{
				{Targets: []ForwardingTarget{{Type: "PHONENUMBER", Value: "+15551230000"}}}}},
			notFound: ErrNotFound,
		},
		{
			name: "Flows.LockedBy", method: "GET", path: "/api/v2/flows",
			query:  url.Values{"lockedBy": {u}, "pageSize": {"100"}, "pageNumber": {"1"}},
			status: 200, reply: `{"entities":[{"id":"` + testFlowID + `","name":"Main IVR","division":{"id":"d1","name":"Home"},"type":"INBOUNDCALL","lockedUser":{"id":"` + u + `","name":"Jane Doe","selfUri":"/api/v2/users/` + u + `"},"active":true,"system":false,"deleted":false,"selfUri":"/api/v2/flows/` + testFlowID + `"}],"pageSize":100,"pageNumber":1,"total":1,"pageCount":1}`,
			call: func(ctx context.Context, c *Client) (any, error) {
				r, _, err := c.Flows.LockedBy(ctx, u)
				return r, err
			},
			want:     []Flow{{ID: testFlowID, Name: "Main IVR", Type: "INBOUNDCALL", LockedUser: &NamedEntity{ID: u, Name: "Jane Doe"}}},
			notFound: ErrNotFound,
		},
		{
			name: "Flows.Unlock", method: "POST", path: "/api/v2/flows/actions/unlock",
			query:  url.Values{"flow": {testFlowID}},
			status: 200, reply: `{"id":"` + testFlowID + `","name":"Main IVR","type":"INBOUNDCALL","active":true}`,
			call: func(ctx context.Context, c *Client) (any, error) {
				r, _, err := c.Flows.Unlock(ctx, testFlowID)
				return r, err
			},
			want: &Flow{ID: testFlowID, Name: "Main IVR", Type: "INBOUNDCALL"}, notFound: ErrNotFound,
		},
		{
			name: "OAuthClients.CreatedBy", method: "GET", path: "/api/v2/oauth/clients",
			status: 200, reply: `{"entities":[
				{"id":"` + testClientID2 + `","name":"Jane's CRM sync","description":"","accessTokenValiditySeconds":86400,"registeredRedirectUri":[],"roleIds":[],"dateCreated":"2025-01-01T00:00:00Z","createdBy":{"id":"` + u + `","selfUri":"/api/v2/users/` + u + `"},"authorizedGrantType":"CLIENT-CREDENTIALS","scope":[],"state":"Active"},
				{"id":"7d0e1f2a-3b4c-4d5e-8f6a-777777777777","name":"Someone else's","createdBy":{"id":"` + testOtherUser + `"},"authorizedGrantType":"CODE","state":"Active"},
				{"id":"8e1f2a3b-4c5d-4e6f-9a7b-888888888888","name":"Made by nobody we know","authorizedGrantType":"CODE","state":"Active"}],
				"pageSize":25,"pageNumber":1,"total":3,"pageCount":1}`,
			call: func(ctx context.Context, c *Client) (any, error) {
				r, _, err := c.OAuthClients.CreatedBy(ctx, u)
				return r, err
			},
			want:     []OAuthClient{{ID: testClientID2, Name: "Jane's CRM sync", State: OAuthClientActive, AuthorizedGrantType: "CLIENT-CREDENTIALS", CreatedBy: &NamedEntity{ID: u}}},
			notFound: ErrNotFound,
		},
		{
			name: "WFM.ManagementUnit", method: "GET", path: "/api/v2/workforcemanagement/agents/" + u + "/managementunit",
			status: 200, reply: `{"user":{"id":"` + u + `","selfUri":"/api/v2/users/` + u + `"},"managementUnit":{"id":"` + testUnitID + `","selfUri":"/api/v2/workforcemanagement/managementunits/` + testUnitID + `"},"businessUnit":{"id":"b1","selfUri":"/api/v2/workforcemanagement/businessunits/b1"}}`,
			call: func(ctx context.Context, c *Client) (any, error) {
				r, _, err := c.WFM.ManagementUnit(ctx, u)
				return r, err
			},
			want: &AgentManagementUnit{User: &NamedEntity{ID: u}, ManagementUnit: &NamedEntity{ID: testUnitID}, BusinessUnit: &NamedEntity{ID: "b1"}},
			// notFound nil: a 404 is a user in no unit (undocumented; see ManagementUnit).
		},
		{
			name: "WFM.MoveAgents", method: "POST", path: "/api/v2/workforcemanagement/agents",
			body:   `{"userIds":["` + u + `","` + testOtherUser + `"],"destinationManagementUnitId":"` + testUnitID + `"}`,
			status: 202, reply: `{"requestId":"r-1","status":"Processing"}`,
			call: func(ctx context.Context, c *Client) (any, error) {
				_, err := c.WFM.MoveAgents(ctx, []string{u, testOtherUser}, testUnitID)
				return nil, err
			},
			notFound: ErrNotFound,
		},
		{
			name: "WFM.MoveAgents out of the unit", method: "POST", path: "/api/v2/workforcemanagement/agents",
			body:   `{"userIds":["` + u + `"],"destinationManagementUnitId":null}`,
			status: 202, reply: `{"requestId":"r-2","status":"Processing"}`,
			call: func(ctx context.Context, c *Client) (any, error) {
				_, err := c.WFM.MoveAgents(ctx, []string{u}, "")
				return nil, err
			},
			notFound: ErrNotFound,
		},
		{
			name: "Users.Verifiers", method: "GET", path: "/api/v2/users/" + u + "/verifiers",
			status: 200, reply: `{"total":2,"entities":[{"id":"9f2a3b4c-5d6e-4f7a-8b9c-999999999999","name":"Authenticator app","enabled":true,"default":true,"selfUri":"/api/v2/users/` + u + `/verifiers/9f2a3b4c-5d6e-4f7a-8b9c-999999999999"},{"id":"a03b4c5d-6e7f-4a8b-9c0d-aaaaaaaaaaaa","name":"Security key","enabled":true,"default":false}],"selfUri":"/api/v2/users/` + u + `/verifiers"}`,
			call: func(ctx context.Context, c *Client) (any, error) {
				r, _, err := c.Users.Verifiers(ctx, u)
				return r, err
			},
			want: []Verifier{
				{ID: "9f2a3b4c-5d6e-4f7a-8b9c-999999999999", Name: "Authenticator app", Enabled: true, Default: true},
				{ID: "a03b4c5d-6e7f-4a8b-9c0d-aaaaaaaaaaaa", Name: "Security key", Enabled: true},
			},
			notFound: ErrNotFound,
		},
		{
			name: "Users.DeleteVerifier", method: "DELETE", path: "/api/v2/users/" + u + "/verifiers/9f2a3b4c-5d6e-4f7a-8b9c-999999999999",
			status: 204,
			call: func(ctx context.Context, c *Client) (any, error) {
				_, err := c.Users.DeleteVerifier(ctx, u, "9f2a3b4c-5d6e-4f7a-8b9c-999999999999")
				return nil, err
			},
			notFound: ErrNotFound,
		},
	}
}

// Every call sends its method, path, query and body, and decodes a
// realistic answer.
func TestContactCenterCallsSendAndDecode(t *testing.T) {
	t.Parallel()
	for _, tt := range ccCalls() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, b := setup(t)
			var rec recorder
			rec.handle(b, tt.status, tt.reply)
			got, err := tt.call(t.Context(), c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); tt.want != nil && diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			reqs := rec.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1: %+v", len(reqs), reqs)
			}
			r := reqs[0]
			if r.Method != tt.method || r.Path != tt.path {
				t.Errorf("sent %s %s, want %s %s", r.Method, r.Path, tt.method, tt.path)
			}
			wantQ := tt.query
			if wantQ == nil {
				wantQ = url.Values{}
			}
			if diff := cmp.Diff(wantQ, r.Query); diff != "" {
				t.Errorf("query (-want +got):\n%s", diff)
			}
			if r.Body != tt.body {
				t.Errorf("body = %s, want %s", r.Body, tt.body)
			}
		})
	}
}

// A 403 is the typed permission error, a 404 ErrNotFound (or, for the WFM
// unit, an answer), and the error names the call but holds no token.
func TestContactCenterCallsErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range ccCalls() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, b := setup(t)
			var rec recorder
			rec.handle(b, 403, `{"message":"You must have at least one of the following permissions assigned: x:y:z","code":"missing.any.permissions","status":403}`)
			_, err := tt.call(t.Context(), c)
			var apiErr *APIError
			if !errors.Is(err, ErrForbidden) || !errors.As(err, &apiErr) || apiErr.StatusCode != 403 || apiErr.Path != tt.path {
				t.Errorf("403: err = %v, want an *APIError matching ErrForbidden for %s", err, tt.path)
			}
			if err != nil && strings.Contains(err.Error(), "tok-") {
				t.Errorf("error holds the token: %v", err)
			}

			c, b = setup(t)
			rec = recorder{}
			rec.handle(b, 404, platform404)
			got, err := tt.call(t.Context(), c)
			if tt.notFound == nil {
				if err != nil || !isNil(got) {
					t.Errorf("404: %v, %v; want no unit and no error", got, err)
				}
			} else if !errors.Is(err, ErrNotFound) {
				t.Errorf("404: err = %v, want ErrNotFound", err)
			}
		})
	}
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	if mu, ok := v.(*AgentManagementUnit); ok {
		return mu == nil
	}
	return false
}

// Ids that are not Genesys ids never reach a request.
func TestContactCenterIDsAreChecked(t *testing.T) {
	t.Parallel()
	c, b := setup(t)
	var rec recorder
	rec.handle(b, 200, `{}`)
	ctx := t.Context()
	good := testUserID
	for _, bad := range []string{"", "..", "../tokens/me", "%2e%2e", good + "/x", good + "?x=1", "6f0b1c7e-1f7a-4c1e-9b43-2a7d2f0c9a1g"} {
		calls := map[string]func() error{
			"Routing.Status":           func() error { _, _, err := c.Routing.Status(ctx, bad); return err },
			"Routing.SetStatus":        func() error { _, _, err := c.Routing.SetStatus(ctx, bad, RoutingOffQueue); return err },
			"Routing.QueueMembers":     func() error { _, _, err := c.Routing.QueueMembers(ctx, bad, QueueMemberOptions{}); return err },
			"Routing.RemoveMember/q":   func() error { _, err := c.Routing.RemoveMember(ctx, bad, good); return err },
			"Routing.RemoveMember/u":   func() error { _, err := c.Routing.RemoveMember(ctx, testQueueID, bad); return err },
			"Routing.AddMembers/q":     func() error { _, err := c.Routing.AddMembers(ctx, bad, []string{good}); return err },
			"Routing.AddMembers/u":     func() error { _, err := c.Routing.AddMembers(ctx, testQueueID, []string{good, bad}); return err },
			"Presence.Get":             func() error { _, _, err := c.Presence.Get(ctx, bad); return err },
			"Presence.Set/u":           func() error { _, _, err := c.Presence.Set(ctx, bad, testPresOff); return err },
			"Presence.Set/def":         func() error { _, _, err := c.Presence.Set(ctx, good, bad); return err },
			"Stations.Get":             func() error { _, _, err := c.Stations.Get(ctx, bad); return err },
			"Stations.ClearAssociated": func() error { _, err := c.Stations.ClearAssociated(ctx, bad); return err },
			"Stations.ClearDefault":    func() error { _, err := c.Stations.ClearDefault(ctx, bad); return err },
			"Stations.SetDefault/u":    func() error { _, err := c.Stations.SetDefault(ctx, bad, testStationID); return err },
			"Stations.SetDefault/s":    func() error { _, err := c.Stations.SetDefault(ctx, good, bad); return err },
			"CallForwarding.Get":       func() error { _, _, err := c.CallForwarding.Get(ctx, bad); return err },
			"CallForwarding.Patch":     func() error { _, _, err := c.CallForwarding.Patch(ctx, bad, CallForwarding{}); return err },
			"Flows.LockedBy":           func() error { _, _, err := c.Flows.LockedBy(ctx, bad); return err },
			"Flows.Unlock":             func() error { _, _, err := c.Flows.Unlock(ctx, bad); return err },
			"OAuthClients.CreatedBy":   func() error { _, _, err := c.OAuthClients.CreatedBy(ctx, bad); return err },
			"OAuthClients.SetState":    func() error { _, _, err := c.OAuthClients.SetState(ctx, bad, OAuthClientDisabled); return err },
			"WFM.ManagementUnit":       func() error { _, _, err := c.WFM.ManagementUnit(ctx, bad); return err },
			"WFM.MoveAgents/u":         func() error { _, err := c.WFM.MoveAgents(ctx, []string{good, bad}, testUnitID); return err },
			"WFM.MoveAgents/unit":      func() error { _, err := c.WFM.MoveAgents(ctx, []string{good}, bad); return err },
			"Users.Verifiers":          func() error { _, _, err := c.Users.Verifiers(ctx, bad); return err },
			"Users.DeleteVerifier/u":   func() error { _, err := c.Users.DeleteVerifier(ctx, bad, "v1"); return err },
		}
		if bad == "" {
			calls["WFM.MoveAgents/unit"] = func() error { return ErrInvalidArgument } // "" is "out of the unit", tested elsewhere
		}
		for name, call := range calls {
			if err := call(); !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("%s(%q) = %v, want ErrInvalidArgument", name, bad, err)
			}
		}
	}
	// A verifier id's form is undocumented: a plain path segment is sent,
	// anything else is refused.
	for _, bad := range []string{"", ".", "..", "a/b", "a?b", "%2e%2e", "a b", "a\nb", strings.Repeat("a", 129)} {
		if _, err := c.Users.DeleteVerifier(ctx, good, bad); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("DeleteVerifier(%q) = %v, want ErrInvalidArgument", bad, err)
		}
	}
	// Values the calls take from a fixed set are checked too.
	others := map[string]func() error{
		"SetStatus(AVAILABLE)": func() error { _, _, err := c.Routing.SetStatus(ctx, good, "AVAILABLE"); return err },
		"QueueMembers(memberBy x)": func() error {
			_, _, err := c.Routing.QueueMembers(ctx, testQueueID, QueueMemberOptions{MemberBy: "x&y=1"})
			return err
		},
		"SetState(deleted)": func() error { _, _, err := c.OAuthClients.SetState(ctx, testClientID2, "Deleted"); return err },
		"AddMembers(none)":  func() error { _, err := c.Routing.AddMembers(ctx, testQueueID, nil); return err },
		"MoveAgents(none)":  func() error { _, err := c.WFM.MoveAgents(ctx, nil, ""); return err },
	}
	for name, call := range others {
		if err := call(); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s = %v, want ErrInvalidArgument", name, err)
		}
	}
	if reqs := rec.requests(); len(reqs) != 0 {
		t.Errorf("%d requests sent for invalid arguments: %+v", len(reqs), reqs)
	}
}

// jsonEqual compares two JSON documents by value.
func jsonEqual(t *testing.T, got, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("got %q: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want %q: %v", want, err)
	}
	return cmp.Equal(g, w)
}
