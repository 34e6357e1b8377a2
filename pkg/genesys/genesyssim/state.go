package genesyssim

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Errors returned by the Go accessors (and mapped to 404/400 by the admin paths).
var (
	ErrUnknownClient = errors.New("genesyssim: unknown OAuth client")
	ErrUnknownUser   = errors.New("genesyssim: unknown user")
	ErrInvalidUser   = errors.New("genesyssim: invalid user")
	ErrInactiveUser  = errors.New("genesyssim: inactive user")
)

func errUnknownClient(id string) error { return fmt.Errorf("%w %q", ErrUnknownClient, id) }

// Requests returns the request log, oldest first (at most Config.LogSize entries).
func (s *Server) Requests() []Request { return s.log.since(0) }

// RequestsSince returns the logged requests with Seq greater than seq, oldest first.
func (s *Server) RequestsSince(seq uint64) []Request { return s.log.since(seq) }

// Counters returns the request counters since the last Reset.
func (s *Server) Counters() Counters { return s.log.snapshot() }

// Reset clears the request log, the counters and every rate-limit window, ends a running 429
// burst and restarts the fault draws from their seed. It keeps the org, the clients and the
// issued tokens (see ResetOrg).
func (s *Server) Reset() {
	s.log.reset()
	s.limit.reset()
	s.faults.set(s.faults.faults(), s.cfg.Seed)
}

// ResetOrg restores the seeded org: users, roles and tokens as New made them.
func (s *Server) ResetOrg() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.org = seedOrg(s.cfg.Seed, s.cfg.Users)
}

// User returns a copy of the user with the given id, deleted users included.
func (s *Server) User(id string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.org.users[id]
	if !ok {
		return User{}, false
	}
	return u.clone(), true
}

// Deleted reports whether the user id exists and is in the state "deleted" (soft-deleted by
// either DELETE).
func (s *Server) Deleted(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.org.users[id]
	return ok && u.Deleted
}

// Users returns copies of all users in creation order, deleted users included.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, 0, len(s.org.order))
	for _, id := range s.org.order {
		out = append(out, s.org.users[id].clone())
	}
	return out
}

// Roles returns the org's roles.
func (s *Server) Roles() []Role {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.org.roles)
}

// Divisions returns the org's divisions, Home first.
func (s *Server) Divisions() []Division {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.org.divisions)
}

// AddUser adds u to the org and returns it as stored. A missing ID gets a random UUID, a
// missing Division is "Home", Version defaults to 1 and LastModified to now. Grants name their
// role and division by name (DivisionName defaults to "Home"); the ids are filled in.
// Note that Active is taken as given: set it for an active user.
func (s *Server) AddUser(u User) (User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u = u.clone()
	u.ID = cmp.Or(u.ID, newCorrelationID())
	u.Division = cmp.Or(u.Division, "Home")
	u.Version = cmp.Or(u.Version, 1)
	if u.LastModified.IsZero() {
		u.LastModified = s.cfg.Now()
	}
	if err := s.checkNewUser(u); err != nil {
		return User{}, err
	}
	grants := u.Grants
	u.Grants = nil
	for _, g := range grants {
		div := cmp.Or(g.DivisionName, "Home")
		if _, ok := s.org.role(g.RoleName); !ok {
			return User{}, fmt.Errorf("%w: role %q does not exist", ErrInvalidUser, g.RoleName)
		}
		if _, ok := s.org.division(div); !ok {
			return User{}, fmt.Errorf("%w: division %q does not exist", ErrInvalidUser, div)
		}
		s.org.grant(&u, g.RoleName, div)
	}
	s.org.users[u.ID] = &u
	s.org.order = append(s.org.order, u.ID)
	s.org.agents[u.ID] = baseAgent(&u)
	return u.clone(), nil
}

func (s *Server) checkNewUser(u User) error {
	if _, ok := s.org.users[u.ID]; ok {
		return fmt.Errorf("%w: id %q already exists", ErrInvalidUser, u.ID)
	}
	if u.UserName == "" || u.Tokens < 0 {
		return fmt.Errorf("%w: userName is required and tokens cannot be negative", ErrInvalidUser)
	}
	if _, ok := s.org.division(u.Division); !ok {
		return fmt.Errorf("%w: division %q does not exist", ErrInvalidUser, u.Division)
	}
	for _, other := range s.org.users {
		if !other.Deleted && strings.EqualFold(other.UserName, u.UserName) {
			return fmt.Errorf("%w: userName %q is taken", ErrInvalidUser, u.UserName)
		}
	}
	return nil
}

// SetUserTokens sets the number of OAuth tokens a user holds.
func (s *Server) SetUserTokens(id string, n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.org.users[id]
	if !ok || n < 0 {
		return fmt.Errorf("%w %q (or negative count %d)", ErrUnknownUser, id, n)
	}
	u.Tokens = n
	return nil
}

// Login simulates the user logging in: Genesys grants the user a token, so the user holds one
// more and its lastTokenIssued moves to the simulator's now. An inactive or deleted user cannot
// log in: ErrUnknownUser for an unknown or deleted one, ErrInactiveUser for an inactive one. It
// returns the time of the token.
func (s *Server) Login(id string) (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.org.live(id)
	if !ok {
		return time.Time{}, fmt.Errorf("%w %q", ErrUnknownUser, id)
	}
	if !u.Active {
		return time.Time{}, fmt.Errorf("%w %q", ErrInactiveUser, id)
	}
	u.Tokens++
	u.LastTokenIssued = s.cfg.Now().UTC()
	return u.LastTokenIssued, nil
}

// SetFaults replaces the fault settings and reseeds the fault generator.
func (s *Server) SetFaults(f Faults) error {
	if err := f.withDefaults().validate(); err != nil {
		return fmt.Errorf("genesyssim: invalid faults: %w", err)
	}
	s.faults.set(f, s.cfg.Seed)
	return nil
}

// Faults returns the fault settings in force, defaults applied.
func (s *Server) Faults() Faults { return s.faults.faults() }
