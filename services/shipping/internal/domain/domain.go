// Package domain holds shipping's pure rules: a shipment is scheduled only to a shippable
// destination; a cancellation undoes it once; a cancellation before any shipment leaves a
// tombstone, so a late schedule is refused. No I/O: the clock is passed in.
package domain

import (
	"fmt"
	"time"

	"daprshop/libs/contracts/go/contracts"
	"daprshop/services/shipping/internal/decision"
)

// Event types (CloudEvent types) of shipping's outcomes.
const (
	ScheduledType = "shipping.ShipmentScheduled.v1"
	FailedType    = "shipping.ShipmentFailed.v1"
	CancelledType = "shipping.ShipmentCancelled.v1"
)

// Destination is a country and whether carriers serve it.
type Destination struct {
	Country   string `json:"country"`
	Shippable bool   `json:"shippable"`
	Why       string `json:"why"`
}

// Status of a shipment: "none" until scheduled, failed or cancelled.
type Status string

const (
	None      Status = "none"
	Scheduled Status = "scheduled"
	Failed    Status = "failed"
	Cancelled Status = "cancelled"
)

// Shipment is one order's shipment record ("none": nothing yet); the platform's inbox
// fills Inbox in the same write as the effect.
type Shipment struct {
	Inbox      decision.Inbox `json:"inbox"`
	OrderID    string         `json:"order_id"`
	Status     Status         `json:"status"`
	ShipmentID *string        `json:"shipment_id"`
	Country    *string        `json:"country"`
}

// Entries and SetEntries give the platform's inbox access to the record's inbox.
func (s *Shipment) Entries() decision.Inbox      { return s.Inbox }
func (s *Shipment) SetEntries(in decision.Inbox) { s.Inbox = in }

// Decision is what shipping's rules return.
type Decision = decision.Decision[Shipment]

func newShipment(orderID string) Shipment {
	return Shipment{Inbox: decision.Inbox{}, OrderID: orderID, Status: None}
}

// occurrence is when an event happened, written as pydantic writes a UTC datetime.
func occurrence(now time.Time) contracts.Occurrence {
	now = now.UTC().Truncate(time.Microsecond)
	layout := "2006-01-02T15:04:05Z"
	if now.Nanosecond() != 0 {
		layout = "2006-01-02T15:04:05.000000Z"
	}
	return contracts.Occurrence{OccurredAt: now.Format(layout), Attempt: 1}
}

func answering(cmd contracts.Message) contracts.Message {
	return contracts.Message{OrderID: cmd.OrderID, Mode: cmd.Mode, CausationID: cmd.CausationID}
}

func envelope(orderID, eventType string) contracts.Envelope {
	return contracts.Envelope{MessageID: orderID + ":" + eventType, CorrelationID: orderID}
}

// Schedule schedules the order's shipment to a shippable destination (nil: unknown).
func Schedule(record *Shipment, cmd contracts.ScheduleShipment, dest *Destination, now time.Time) Decision {
	rec := newShipment(cmd.OrderID)
	if record != nil {
		rec = *record
	}
	if rec.Status == Cancelled {
		why := fmt.Sprintf("order %s's shipment was already cancelled; scheduling after its compensation is refused", cmd.OrderID)
		return Decision{Record: rec, Refused: &why}
	}
	country := cmd.Order.Address.Country
	if dest == nil || !dest.Shippable {
		why := "no route to " + country
		if dest != nil {
			why = dest.Why
		}
		rec.Status, rec.Country = Failed, &country
		event := contracts.ShipmentFailed{
			Message: answering(cmd.Message), Occurrence: occurrence(now),
			Reason: "shipping_failed", Detail: why, Envelope: envelope(cmd.OrderID, FailedType),
		}
		return Decision{Record: rec, EventType: FailedType, Event: event}
	}
	id := "shp_" + cmd.OrderID
	rec.Status, rec.ShipmentID, rec.Country = Scheduled, &id, &country
	event := contracts.ShipmentScheduled{
		Message: answering(cmd.Message), Occurrence: occurrence(now),
		ShipmentID: id, Envelope: envelope(cmd.OrderID, ScheduledType),
	}
	return Decision{Record: rec, EventType: ScheduledType, Event: event}
}

// Cancel cancels the order's shipment; a failed one stays failed; none yet: a tombstone.
func Cancel(record *Shipment, cmd contracts.CancelShipment, now time.Time) Decision {
	rec := newShipment(cmd.OrderID)
	if record != nil {
		rec = *record
	}
	if rec.Status != Failed {
		rec.Status = Cancelled
	}
	event := contracts.ShipmentCancelled{
		Message: answering(cmd.Message), Occurrence: occurrence(now), Envelope: envelope(cmd.OrderID, CancelledType),
	}
	return Decision{Record: rec, EventType: CancelledType, Event: event}
}
