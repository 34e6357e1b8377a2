package genesyssim

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Server is the simulator: an http.Handler serving the login path (/oauth/token), the API
// paths (/api/v2/...) and the admin paths (/admin/...) on one host. Create it with New.
// It is safe for concurrent use. It owns no goroutines and needs no Close; whoever starts an
// http.Server or httptest.Server around it closes that.
type Server struct {
	cfg    Config
	mux    *http.ServeMux
	admin  *http.ServeMux
	log    *requestLog
	limit  *limiter
	faults *injector

	mu      sync.Mutex // guards org, clients and tokens
	org     *org
	clients map[string]*clientState
	tokens  map[string]*accessToken
}

// call is the per-request state shared by the handlers and the request log.
type call struct {
	correlationID string
	route         string
	userID        string
	clientID      string
	token         string
	fault         string
	latency       time.Duration
}

type callKey struct{}

// New returns a simulator with cfg's defaults applied and its org seeded.
func New(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("genesyssim: invalid config: %w", err)
	}
	s := &Server{
		cfg:    cfg,
		log:    newRequestLog(cfg.LogSize),
		limit:  newLimiter(cfg.RateLimit, cfg.RateWindow),
		faults: newInjector(cfg.Faults, cfg.Seed),
		org:    seedOrg(cfg.Seed, cfg.Users),
		tokens: map[string]*accessToken{},
	}
	s.clients = make(map[string]*clientState, len(cfg.Clients))
	for _, c := range cfg.Clients {
		s.clients[c.ID] = &clientState{Client: c}
	}
	s.routes()
	s.adminRoutes()
	return s, nil
}

// ServeHTTP serves one request. Every non-admin response carries ININ-Correlation-Id and is
// logged; /api responses also carry the inin-ratelimit-* headers.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/admin/") {
		s.admin.ServeHTTP(w, r)
		return
	}
	began, at := time.Now(), s.cfg.Now()
	c := &call{correlationID: newCorrelationID()}
	w.Header().Set("ININ-Correlation-Id", c.correlationID)
	sw := &statusWriter{ResponseWriter: w}
	defer func() { // deferred so that a dropped connection (timeout fault) is logged too
		s.log.add(Request{Time: at, Method: r.Method, Path: r.URL.Path, Route: c.route,
			Status: sw.status, ClientID: c.clientID, UserID: c.userID, CorrelationID: c.correlationID,
			Fault: c.fault, InjectedLatency: c.latency, Duration: time.Since(began)})
	}()
	s.mux.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), callKey{}, c)))
}

func callFrom(r *http.Request) *call {
	return r.Context().Value(callKey{}).(*call)
}

// route is one API endpoint: perms lists the permissions of which the client needs any.
type route struct {
	pattern string
	perms   []string
	handle  func(http.ResponseWriter, *http.Request, *call)
}

// patchPerms are the permissions of which SCIM PATCH requires any (fact sheet 3.5).
var patchPerms = []string{"directory:user:edit", "directory:user:setPassword", "authorization:grant:add",
	"authorization:grant:delete", "routing:skill:assign", "routing:language:assign", "telephony:extension:assign"}

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST /oauth/token", s.handleToken)
	routes := []route{
		{"DELETE /api/v2/tokens/me", nil, s.handleDeleteMyToken},
		{"DELETE /api/v2/tokens/{userId}", []string{"oauth:token:delete"}, s.handleDeleteTokens},
		{"GET /api/v2/users/{id}", nil, s.handleGetPlatformUser},
		{"DELETE /api/v2/users/{id}", []string{"directory:user:delete"}, s.handleDeletePlatformUser},
		{"GET /api/v2/users/{id}/roles", []string{"authorization:grant:view"}, s.handleUserRoles},
		{"GET /api/v2/users/{id}/queues", []string{"routing:queue:view"}, s.handleUserQueues},
		{"GET /api/v2/authorization/subjects/{id}", []string{"authorization:grant:view"}, s.handleSubject},
		{"POST /api/v2/authorization/subjects/{id}/bulkremove", []string{"authorization:grant:delete"}, s.handleBulkRemove},
		{"POST /api/v2/authorization/subjects/{id}/bulkadd", []string{"authorization:grant:add"}, s.handleBulkAdd},
		{"POST /api/v2/audits/query/realtime", []string{"audits:audit:view"}, s.handleAuditRealtime},
		{"POST /api/v2/audits/query", []string{"audits:audit:view"}, s.handleAuditQuery},
		{"GET /api/v2/audits/query/{transactionId}", []string{"audits:audit:view"}, s.handleAuditQueryStatus},
		{"GET /api/v2/audits/query/{transactionId}/results", []string{"audits:audit:view"}, s.handleAuditQueryResults},
		{"/api/", nil, s.handleUnknown},
	}
	routes = append(routes, s.contactCenterRoutes()...)
	for _, base := range []string{"/api/v2/scim/v2", "/api/v2/scim"} {
		routes = append(routes,
			route{"GET " + base + "/users", nil, s.handleListUsers},
			route{"GET " + base + "/users/{id}", nil, s.handleGetUser},
			route{"PATCH " + base + "/users/{id}", patchPerms, s.handlePatchUser},
			route{"DELETE " + base + "/users/{id}", []string{"directory:user:delete"}, s.handleDeleteUser},
			route{"GET " + base + "/serviceproviderconfig", nil, s.handleServiceProviderConfig},
		)
	}
	for _, rt := range routes {
		s.mux.Handle(rt.pattern, s.api(rt))
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		c := callFrom(r)
		c.route = "/"
		c.platformError(w, http.StatusNotFound, "not.found", "")
	})
}

// api wraps an endpoint in the gateway steps every /api request passes, in this order:
// authentication (401), the 429-burst fault, the rate limiter (429), the latency, timeout and
// 5xx faults, permissions (403), and the body size limit (413).
// contactCenterRoutes are the routes of contact-center.md section 2, with the SDK's
// permissions (any of them) and the switches for the two routes whose permission is unconfirmed.
func (s *Server) contactCenterRoutes() []route {
	optional := func(perm string) []string {
		if perm == "" {
			return nil
		}
		return []string{perm}
	}
	queueView := []string{"routing:queue:view", "routing:queue:edit", "routing:queue:readonly", "routing:queueMember:manage"}
	return []route{
		{"GET /api/v2/users/{id}/routingstatus", nil, s.handleGetRoutingStatus},
		{"PUT /api/v2/users/{id}/routingstatus", optional(s.cfg.RoutingStatusPermission), s.handlePutRoutingStatus},
		{"GET /api/v2/users/{id}/presences/purecloud", nil, s.handleGetPresence},
		{"PATCH /api/v2/users/{id}/presences/purecloud", optional(s.cfg.PresencePermission), s.handlePatchPresence},
		{"GET /api/v2/presence/definitions", []string{"presence:presenceDefinition:view"}, s.handlePresenceDefinitions},
		{"GET /api/v2/routing/queues/{queueId}/members", queueView, s.handleQueueMembers},
		{"POST /api/v2/routing/queues/{queueId}/members", queueMemberPerms, s.handlePostQueueMembers},
		{"DELETE /api/v2/routing/queues/{queueId}/members/{memberId}", queueMemberPerms, s.handleDeleteQueueMember},
		{"GET /api/v2/users/{id}/station", stationViewPerms, s.handleGetStation},
		{"DELETE /api/v2/users/{id}/station/associatedstation", stationDisassocPerm, s.handleDeleteAssociatedStation},
		{"DELETE /api/v2/users/{id}/station/defaultstation", defaultStationPerms, s.handleDeleteDefaultStation},
		{"PUT /api/v2/users/{id}/station/defaultstation/{stationId}", defaultStationPerms, s.handlePutDefaultStation},
		{"GET /api/v2/users/{id}/callforwarding", []string{"conversation:callForwarding:view"}, s.handleGetForwarding},
		{"PATCH /api/v2/users/{id}/callforwarding", []string{"conversation:callForwarding:edit"}, s.handlePatchForwarding},
		{"GET /api/v2/flows", []string{"architect:flow:view"}, s.handleFlows},
		{"POST /api/v2/flows/actions/unlock", []string{"architect:flow:unlock"}, s.handleUnlockFlow},
		{"GET /api/v2/oauth/clients", []string{"oauth:client:view"}, s.handleOAuthClients},
		{"GET /api/v2/oauth/clients/{clientId}", []string{"oauth:client:view"}, s.handleGetOAuthClient},
		{"PUT /api/v2/oauth/clients/{clientId}", []string{"oauth:client:edit"}, s.handlePutOAuthClient},
		// The SDK's list for this GET (WorkforceManagementApi.md, get_workforcemanagement_agent_managementunit,
		// PureCloudPlatformClientV2 225.0.0) has no wfm:agent:edit: a client holding only that one
		// is refused the read.
		{"GET /api/v2/workforcemanagement/agents/{agentId}/managementunit", wfmAgentViewPerms, s.handleAgentManagementUnit},
		{"POST /api/v2/workforcemanagement/agents", []string{"wfm:agent:edit"}, s.handleMoveAgents},
		{"GET /api/v2/users/{id}/verifiers", []string{"mfa:verifier:view"}, s.handleVerifiers},
		{"DELETE /api/v2/users/{id}/verifiers/{verifierId}", []string{"mfa:verifier:delete"}, s.handleDeleteVerifier},
	}
}

func (s *Server) api(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := callFrom(r)
		c.route = r.Pattern
		c.userID = cmp.Or(r.PathValue("id"), r.PathValue("userId"), r.PathValue("agentId"), r.PathValue("memberId"))
		if !s.authenticate(w, r, c) || !s.admit(w, r, c) {
			return
		}
		if !s.permitted(c.clientID, rt.perms) {
			c.platformError(w, http.StatusForbidden, "missing.any.permissions", fmt.Sprintf(
				"Unable to perform the requested action. You must have at least one of the following permissions assigned: %s",
				strings.Join(rt.perms, ", ")))
			return
		}
		if r.ContentLength > s.cfg.MaxBodyBytes {
			c.platformError(w, http.StatusRequestEntityTooLarge, "request.entity.too.large", "")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		rt.handle(w, r, c)
	})
}

// handleUnknown answers an /api path no route serves: 405 if another method would, else 404.
func (s *Server) handleUnknown(w http.ResponseWriter, r *http.Request, c *call) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := s.mux.Handler(probe); p != "/api/" && p != "/" && p != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		c.platformError(w, http.StatusMethodNotAllowed, "method.not.allowed", "")
		return
	}
	c.platformError(w, http.StatusNotFound, "not.found", "")
}

// statusWriter records the status written through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// newCorrelationID returns a random version-4 UUID.
func newCorrelationID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
