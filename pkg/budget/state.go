package budget

import (
	"encoding/json"
	"maps"
	"time"
)

// state is the shared budget of one OAuth client, the value of one KV key.
// Times are Unix nanoseconds by the clock of the worker that wrote them; the
// clock-skew allowance in the emission interval (see params) is what makes
// that safe. Every change goes through compare-and-set on the key's revision.
type state struct {
	// TAT is the GCRA theoretical arrival time: the next grant is due at TAT,
	// and may come up to the burst tolerance earlier.
	TAT int64 `json:"tat"`
	// PausedUntil is the end of a fleet-wide pause ordered by a 429. It only
	// ever moves later.
	PausedUntil int64 `json:"paused_until,omitempty"`
	// Resumes counts the operators' resumes (see Resume): each clears the
	// pause, and a worker drops a pause it heard before a resume it had not
	// yet seen, so that neither its memory nor its unstored observations
	// bring the pause back. A count, not a time, so that clocks do not matter.
	Resumes uint64 `json:"resumes,omitempty"`
	// Limit is a budget lowered by inin-ratelimit-allowed, in force until
	// LimitUntil; 0 means the configured budget.
	Limit      int   `json:"limit,omitempty"`
	LimitUntil int64 `json:"limit_until,omitempty"`
	// Urgent maps a worker id to the expiry of its announcement that it holds
	// urgent requests: while any other worker's announcement is live, normal
	// requests are not granted.
	Urgent map[string]int64 `json:"urgent,omitempty"`
}

func decodeState(b []byte) (state, error) {
	var s state
	if len(b) == 0 {
		return s, nil
	}
	err := json.Unmarshal(b, &s)
	return s, err
}

func (s state) encode() []byte {
	b, _ := json.Marshal(s) // a struct of ints and a map[string]int64 always encodes
	return b
}

func (s state) clone() state {
	s.Urgent = maps.Clone(s.Urgent)
	return s
}

// limitAt is the budget in force at now: the configured one, or a lower one
// Genesys announced for the current window.
func (s state) limitAt(now int64, configured int) int {
	if s.Limit > 0 && s.Limit < configured && now < s.LimitUntil {
		return s.Limit
	}
	return configured
}

// urgentElsewhere reports whether a worker other than id has a live urgent
// announcement at now, and when the last one expires.
func (s state) urgentElsewhere(now int64, id string) (bool, int64) {
	var until int64
	for w, exp := range s.Urgent {
		if w != id && exp > now {
			until = max(until, exp)
		}
	}
	return until > 0, until
}

// dropExpired removes announcements that have expired at now.
func (s *state) dropExpired(now int64) {
	for w, exp := range s.Urgent {
		if exp <= now {
			delete(s.Urgent, w)
		}
	}
	if len(s.Urgent) == 0 {
		s.Urgent = nil
	}
}

// params are the numbers the algorithm needs from Config.
type params struct {
	limit  int           // configured requests per window
	window time.Duration // the window
	slack  time.Duration // MaxClockSkew + MaxSendJitter
	burst  int           // grants allowed back to back
	// announce is how long an urgent announcement lives without renewal.
	announce time.Duration
}

// interval is the GCRA emission interval T for a budget of n per window:
// T = (W + slack) / (n − burst + 1), rounded up. Grant i+n comes at least
// (n − burst + 1)·T − slack after grant i in real time (package doc), which
// is at least W with this T.
func (p params) interval(n int) time.Duration {
	d := n - p.burst + 1
	if d < 1 {
		d = 1
	}
	w := p.window + p.slack
	return (w + time.Duration(d) - 1) / time.Duration(d)
}

// request is what one acquirer asks for: up to n grants at priority urgent
// (or normal), on behalf of worker id.
type request struct {
	id     string
	urgent bool
	n      int
}

// decision is decide's answer. When next is set it must be stored with
// compare-and-set; the grants count only if that store succeeds.
type decision struct {
	next  *state
	grant int
	// wait is how long to sleep before asking again, when grant is 0.
	wait time.Duration
}

// decide is the whole algorithm, a pure function of the shared state, the
// local clock and the request, so that the property test can run it against
// any interleaving and any clocks.
func decide(s state, now int64, r request, p params) decision {
	if now < s.PausedUntil {
		d := decision{wait: time.Duration(s.PausedUntil - now)}
		if !r.urgent {
			// Resume urgent work first: normal acquirers come back one interval later.
			d.wait += p.interval(s.limitAt(s.PausedUntil, p.limit))
		}
		return d
	}
	t := int64(p.interval(s.limitAt(now, p.limit)))
	// The burst tolerance stays that of the configured budget: a lowered
	// budget has a longer interval, and a tolerance scaled with it would let
	// more than the configured budget through right after the change.
	tau := int64(p.burst-1) * int64(p.interval(p.limit))
	if !r.urgent {
		if busy, _ := s.urgentElsewhere(now, r.id); busy {
			return decision{wait: time.Duration(max(t/2, int64(time.Millisecond)))}
		}
	}
	if now < s.TAT-tau {
		wait := time.Duration(s.TAT - tau - now)
		if !r.urgent || s.Urgent[r.id] >= now+int64(wait)+int64(p.announce)/2 {
			return decision{wait: wait}
		}
		next := s.clone()
		next.dropExpired(now)
		if next.Urgent == nil {
			next.Urgent = map[string]int64{}
		}
		next.Urgent[r.id] = now + int64(wait) + int64(p.announce)
		return decision{next: &next, wait: wait}
	}
	base := max(s.TAT, now)
	n := min(int((now+tau-base)/t)+1, r.n)
	next := s.clone()
	next.TAT = base + int64(n)*t
	next.dropExpired(now)
	if r.urgent && n == r.n {
		delete(next.Urgent, r.id)
		if len(next.Urgent) == 0 {
			next.Urgent = nil
		}
	}
	return decision{next: &next, grant: n}
}
