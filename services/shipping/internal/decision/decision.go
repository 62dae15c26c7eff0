// Package decision is what a participant's pure rule returns, and the inbox its record
// carries: pure data, the only platform package a domain package imports.
package decision

import "encoding/json"

// Entry is the recorded outcome of one order_id:step:action: its event, or a refusal.
type Entry struct {
	Type    *string         `json:"type"`
	Data    json.RawMessage `json:"data"`
	Refused *string         `json:"refused"`
}

// Inbox is a record's entries, stored in the same single-key write as its effect.
type Inbox map[string]Entry

// Decision is what a rule decided: the new record, and the event to publish (its
// CloudEvent type and envelope data) or why the command is refused.
type Decision[R any] struct {
	Record    R
	EventType string
	Event     any
	Refused   *string
}
