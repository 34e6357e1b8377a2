package genesyssim

import (
	"maps"
	"sync"
	"time"
)

// Request is one entry of the request log. Requests to /admin are not logged.
type Request struct {
	// Seq numbers requests from 1; it keeps counting across a full log and restarts on Reset.
	Seq uint64 `json:"seq"`
	// Time is when the request arrived, by Config.Now.
	Time   time.Time `json:"time"`
	Method string    `json:"method"`
	Path   string    `json:"path"`
	// Route is the matched route template, e.g. "PATCH /api/v2/scim/v2/users/{id}";
	// "/api/" for an unknown API path.
	Route string `json:"route"`
	// Status is the response status; 0 when the connection was dropped (timeout fault).
	Status int `json:"status"`
	// ClientID is the OAuth client that authenticated (token grant or bearer); "" if none did.
	ClientID string `json:"clientId,omitempty"`
	// UserID is the {id}/{userId} of the route, if it has one.
	UserID        string `json:"userId,omitempty"`
	CorrelationID string `json:"correlationId"`
	// Fault names the injected fault (Fault* constants), or "ratelimit" for a limiter 429.
	Fault string `json:"fault,omitempty"`
	// InjectedLatency is the delay drawn by the latency fault, in nanoseconds in JSON.
	InjectedLatency time.Duration `json:"injectedLatency,omitempty"`
	// Duration is the wall-clock time spent serving, in nanoseconds in JSON.
	Duration time.Duration `json:"duration"`
}

// Counters aggregate the request log since the last Reset. They are not bounded by LogSize.
type Counters struct {
	Total    int                    `json:"total"`
	ByRoute  map[string]map[int]int `json:"byRoute"`  // route template → status → count
	ByStatus map[int]int            `json:"byStatus"` // status → count
	ByClient map[string]int         `json:"byClient"` // client id ("" if unauthenticated) → count
	ByFault  map[string]int         `json:"byFault"`  // fault name → count
}

// requestLog is a bounded ring of requests plus counters. It is safe for concurrent use.
type requestLog struct {
	mu       sync.Mutex
	size     int
	ring     []Request // grows to size, then wraps
	start    int       // index of the oldest entry once the ring wraps
	seq      uint64
	counters Counters
}

func newRequestLog(size int) *requestLog {
	l := &requestLog{size: size}
	l.reset()
	return l
}

func (l *requestLog) add(r Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	r.Seq = l.seq
	if len(l.ring) < l.size {
		l.ring = append(l.ring, r)
	} else {
		l.ring[l.start] = r
		l.start = (l.start + 1) % len(l.ring)
	}
	c := &l.counters
	c.Total++
	if c.ByRoute[r.Route] == nil {
		c.ByRoute[r.Route] = map[int]int{}
	}
	c.ByRoute[r.Route][r.Status]++
	c.ByStatus[r.Status]++
	c.ByClient[r.ClientID]++
	if r.Fault != "" {
		c.ByFault[r.Fault]++
	}
}

// since returns the logged requests with Seq > seq, oldest first.
func (l *requestLog) since(seq uint64) []Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Request, 0, len(l.ring))
	for i := range len(l.ring) {
		if r := l.ring[(l.start+i)%len(l.ring)]; r.Seq > seq {
			out = append(out, r)
		}
	}
	return out
}

func (l *requestLog) snapshot() Counters {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.counters
	c.ByRoute = make(map[string]map[int]int, len(c.ByRoute))
	for k, v := range l.counters.ByRoute {
		c.ByRoute[k] = maps.Clone(v)
	}
	c.ByStatus = maps.Clone(c.ByStatus)
	c.ByClient = maps.Clone(c.ByClient)
	c.ByFault = maps.Clone(c.ByFault)
	return c
}

func (l *requestLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ring, l.start, l.seq = nil, 0, 0
	l.counters = Counters{ByRoute: map[string]map[int]int{}, ByStatus: map[int]int{},
		ByClient: map[string]int{}, ByFault: map[string]int{}}
}
