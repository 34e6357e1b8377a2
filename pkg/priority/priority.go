// Package priority holds the one priority a job, its Genesys requests and the fleet's rate budget
// share. It is a leaf: the job contract (package jobs), the Genesys client (package genesys) and
// the rate budget (package budget) all use it without depending on one another.
package priority

// Priority says how urgent a piece of work is: urgent jobs travel in their own lane, and their
// Genesys requests are granted before normal ones across the fleet. Its values are the wire
// values of a job's "priority" field. The zero value ("") and any unknown value count as Normal
// (see [Priority.Normalized]); only a job's validation rejects an unknown one.
type Priority string

const (
	// Urgent work never waits behind normal work.
	Urgent Priority = "urgent"
	// Normal is the default.
	Normal Priority = "normal"
)

// Normalized returns Urgent when p is Urgent and Normal otherwise: what a rate limiter, a lane or
// a metric label makes of p.
func (p Priority) Normalized() Priority {
	if p == Urgent {
		return Urgent
	}
	return Normal
}
