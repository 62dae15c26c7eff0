package domain

import (
	"testing"
	"time"

	"daprshop/libs/contracts/go/contracts"
)

func schedule(country string) contracts.ScheduleShipment {
	return contracts.ScheduleShipment{
		Message: contracts.Message{OrderID: "o1", Mode: contracts.Hybrid, CausationID: "c1"},
		Order:   contracts.OrderContext{CustomerID: "c", Total: 1, Address: contracts.Address{Country: country}},
	}
}

func TestSchedule(t *testing.T) {
	now := time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC)
	cancelled := Shipment{OrderID: "o1", Status: Cancelled}
	us := &Destination{Country: "US", Shippable: true}
	aq := &Destination{Country: "AQ", Why: "no carrier serves Antarctica"}
	tests := []struct {
		name       string
		record     *Shipment
		dest       *Destination
		country    string
		wantStatus Status
		wantType   string
		wantDetail string
		refused    bool
	}{
		{"shippable", nil, us, "US", Scheduled, ScheduledType, "", false},
		{"unshippable says why", nil, aq, "AQ", Failed, FailedType, "no carrier serves Antarctica", false},
		{"unknown country has no route", nil, nil, "ZZ", Failed, FailedType, "no route to ZZ", false},
		{"after a cancellation: refused", &cancelled, us, "US", Cancelled, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Schedule(tt.record, schedule(tt.country), tt.dest, now)
			if d.Record.Status != tt.wantStatus || d.EventType != tt.wantType || (d.Refused != nil) != tt.refused {
				t.Fatalf("got %+v", d)
			}
			switch e := d.Event.(type) {
			case contracts.ShipmentScheduled:
				if e.ShipmentID != "shp_o1" || *d.Record.ShipmentID != "shp_o1" || e.MessageID != "o1:"+ScheduledType {
					t.Fatalf("event %+v", e)
				}
				if e.OccurredAt != "2024-01-02T03:04:05.123456Z" || e.Attempt != 1 || e.Mode != contracts.Hybrid || e.CausationID != "c1" || e.CorrelationID != "o1" {
					t.Fatalf("event %+v", e)
				}
			case contracts.ShipmentFailed:
				if e.Reason != "shipping_failed" || e.Detail != tt.wantDetail || *d.Record.Country != tt.country {
					t.Fatalf("event %+v", e)
				}
			}
		})
	}
}

func TestCancel(t *testing.T) {
	now := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	failed := Shipment{OrderID: "o1", Status: Failed}
	scheduled := Shipment{OrderID: "o1", Status: Scheduled}
	tests := []struct {
		name   string
		record *Shipment
		want   Status
	}{
		{"nothing yet leaves a tombstone", nil, Cancelled},
		{"a scheduled shipment is cancelled", &scheduled, Cancelled},
		{"a failed shipment stays failed", &failed, Failed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := contracts.CancelShipment{Message: contracts.Message{OrderID: "o1", Mode: contracts.Choreography}}
			d := Cancel(tt.record, cmd, now)
			if d.Record.Status != tt.want || d.EventType != CancelledType {
				t.Fatalf("got %+v", d)
			}
			if e := d.Event.(contracts.ShipmentCancelled); e.OccurredAt != "2024-01-02T03:04:05Z" {
				t.Fatalf("occurred_at %q", e.OccurredAt)
			}
		})
	}
}
