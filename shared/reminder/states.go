package reminder

// allowedFrom lists, for each target state, the states a reminder may leave for it.
// Moves are forward-only so that a late or redelivered event (a status webhook that
// arrives after a newer one, a redelivered SQS message) can never undo progress.
//
// queued is reached from scheduled only; the way back from sending (a failed attempt
// that will be retried) is the storage layer's ReleaseSend, not a general move, and
// the way back to scheduled is UnmarkQueued (the enqueue failed).
//
// delivered and read are also accepted straight from sending: WhatsApp's status
// webhook can overtake the sender's own "sent" write, and refusing it would lose the
// newer status.
var allowedFrom = map[State][]State{
	StateQueued:    {StateScheduled},
	StateSending:   {StateQueued},
	StateSent:      {StateSending},
	StateDelivered: {StateSending, StateSent},
	StateRead:      {StateSending, StateSent, StateDelivered},
	StateFailed:    {StateSending, StateSent, StateDelivered},
	StateSkipped:   {StateScheduled, StateQueued, StateSending},
	StateCancelled: {StateScheduled, StateQueued, StateSending},
}

// AllowedFrom lists the states a reminder may be in for a move to `to`. An empty
// list means no move to `to` is allowed (scheduled is only ever written as a new plan).
func AllowedFrom(to State) []State {
	return append([]State(nil), allowedFrom[to]...)
}

// CanMove reports whether a reminder in from may move to to.
func CanMove(from, to State) bool {
	for _, s := range allowedFrom[to] {
		if s == from {
			return true
		}
	}
	return false
}
