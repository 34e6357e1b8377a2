package genesyssim

import (
	"cmp"
	"net/http"
	"strconv"
	"time"
)

// rateKey is what the window is kept per: the client id or the token.
func (s *Server) rateKey(c *call) string {
	if s.cfg.RateLimitMode == RateLimitPerToken {
		return "token:" + c.token
	}
	return "client:" + c.clientID
}

// setRateHeaders writes the inin-ratelimit-* headers. reset is the whole seconds (rounded up)
// until the oldest request in the window leaves it, i.e. until a slot frees up.
func (s *Server) setRateHeaders(w http.ResponseWriter, d rateDecision) {
	h := w.Header()
	h.Set("inin-ratelimit-allowed", strconv.Itoa(s.cfg.RateLimitAllowedHeader))
	h.Set("inin-ratelimit-count", strconv.Itoa(d.count))
	h.Set("inin-ratelimit-reset", strconv.FormatInt(ceilSeconds(d.wait), 10))
}

// admit runs the rate limiter and the request-level faults. It returns false when it has
// answered the request (429, 5xx) or dropped it (timeout, client gone).
func (s *Server) admit(w http.ResponseWriter, r *http.Request, c *call) bool {
	plan := s.faults.plan(c.route)
	now := s.cfg.Now()
	if plan.kind == FaultBurst { // decided before the limiter: a burst 429 takes no slot
		s.setRateHeaders(w, s.limit.peek(s.rateKey(c), now))
		c.fault = FaultBurst
		c.rateLimited(w, max(1, ceilSeconds(plan.retryAfter)))
		return false
	}
	d := s.limit.take(s.rateKey(c), now)
	s.setRateHeaders(w, d)
	if !d.allowed {
		c.fault = "ratelimit"
		c.rateLimited(w, max(1, ceilSeconds(d.wait)))
		return false
	}
	if plan.latency > 0 {
		c.fault, c.latency = FaultLatency, plan.latency
		wait(r, plan.latency)
	}
	switch plan.kind {
	case FaultTimeout:
		c.fault = FaultTimeout
		wait(r, plan.maxHang)
		panic(http.ErrAbortHandler) // drop the connection: the client never gets an answer
	case FaultServerError:
		c.fault = FaultServerError
		if plan.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.FormatInt(max(1, ceilSeconds(plan.retryAfter)), 10))
		}
		c.platformError(w, plan.status, cmp.Or(serverErrorCodes[plan.status], "internal.server.error"), "")
		return false
	}
	return true
}

// wait blocks for d or until the client gives up. A client that gave up gets no answer.
func wait(r *http.Request, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
		panic(http.ErrAbortHandler)
	}
}
