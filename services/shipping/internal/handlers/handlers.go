// Package handlers holds shipping's step handlers (command -> pure rule -> one idempotent
// write -> outcome) and runs them the way the saga's coordination wants, by invocation
// and by event, under the fault plan.
package handlers

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"daprshop/libs/contracts/go/contracts"
	"daprshop/services/shipping/internal/domain"
	"daprshop/services/shipping/internal/faults"
	"daprshop/services/shipping/internal/inbox"
	"daprshop/services/shipping/internal/ports"
	"daprshop/services/shipping/internal/stats"
)

// Deps is what the handlers work with, built once at start-up.
type Deps struct {
	Inbox        inbox.Deps
	Publisher    ports.Publisher
	Faults       *faults.Plan
	Saga         *contracts.Saga
	Destinations map[string]domain.Destination
	Now          func() time.Time
}

// RecordKey is the state key of an order's shipment record.
func RecordKey(orderID string) string { return "shipment:" + orderID }

// ScheduleShipment schedules the order's shipment, unless the destination is unshippable.
func ScheduleShipment(ctx context.Context, d *Deps, cmd *contracts.ScheduleShipment) (inbox.Outcome, error) {
	var dest *domain.Destination
	if found, ok := d.Destinations[cmd.Order.Address.Country]; ok {
		dest = &found
	}
	now := d.Now()
	return runOnce(ctx, d, "ScheduleShipment", cmd.OrderID, func(rec *domain.Shipment) domain.Decision {
		return domain.Schedule(rec, *cmd, dest, now)
	})
}

// CancelShipment cancels the order's shipment (the step's compensation).
func CancelShipment(ctx context.Context, d *Deps, cmd *contracts.CancelShipment) (inbox.Outcome, error) {
	now := d.Now()
	return runOnce(ctx, d, "CancelShipment", cmd.OrderID, func(rec *domain.Shipment) domain.Decision {
		return domain.Cancel(rec, *cmd, now)
	})
}

func runOnce(ctx context.Context, d *Deps, command, orderID string, decide func(*domain.Shipment) domain.Decision) (inbox.Outcome, error) {
	index, action, err := d.Saga.ByCommand(command)
	if err != nil {
		return inbox.Outcome{}, err
	}
	key := inbox.Key(orderID, d.Saga.Steps[index].Name, string(action))
	return inbox.RunOnce[domain.Shipment](ctx, d.Inbox, RecordKey(orderID), key, decide)
}

// Entry is one row of shipping's step table: a command, by invocation or from an event.
type Entry struct {
	Command string
	Summary string
	// Invoke runs the command decoded from an invocation's body.
	Invoke func(ctx context.Context, d *Deps, body []byte) (inbox.Outcome, error)
	// FromEvent runs the command the saga builds from a triggering event.
	FromEvent func(ctx context.Context, d *Deps, head contracts.Message, order *contracts.OrderContext) (inbox.Outcome, error)
}

func entry[C any](command, summary string, run func(context.Context, *Deps, *C) (inbox.Outcome, error), build func(contracts.Message, *contracts.OrderContext) (*C, error)) Entry {
	execute := func(ctx context.Context, d *Deps, cmd *C) (inbox.Outcome, error) {
		mode := any(cmd).(interface{ Head() contracts.Message }).Head().Mode
		return Execute(ctx, d, command, mode, func(ctx context.Context) (inbox.Outcome, error) { return run(ctx, d, cmd) })
	}
	return Entry{
		Command: command,
		Summary: summary,
		Invoke: func(ctx context.Context, d *Deps, body []byte) (inbox.Outcome, error) {
			cmd, err := contracts.Parse[C](command, body)
			if err != nil {
				return inbox.Outcome{}, err
			}
			return execute(ctx, d, cmd)
		},
		FromEvent: func(ctx context.Context, d *Deps, head contracts.Message, order *contracts.OrderContext) (inbox.Outcome, error) {
			cmd, err := build(head, order)
			if err != nil {
				return inbox.Outcome{}, err
			}
			return execute(ctx, d, cmd)
		},
	}
}

// Steps is shipping's step table.
var Steps = []Entry{
	entry("ScheduleShipment", "Schedule the order's shipment, unless the destination is unshippable", ScheduleShipment,
		func(head contracts.Message, order *contracts.OrderContext) (*contracts.ScheduleShipment, error) {
			if order == nil {
				return nil, fmt.Errorf("ScheduleShipment needs the order it acts on")
			}
			return &contracts.ScheduleShipment{Message: head, Order: *order}, nil
		}),
	entry("CancelShipment", "Cancel the order's shipment (compensation)", CancelShipment,
		func(head contracts.Message, _ *contracts.OrderContext) (*contracts.CancelShipment, error) {
			return &contracts.CancelShipment{Message: head}, nil
		}),
}

// CheckTable fails unless the step table holds exactly the saga's commands of `app`.
func CheckTable(saga *contracts.Saga, app string, steps []Entry) error {
	var have []string
	for _, e := range steps {
		have = append(have, e.Command)
	}
	want := saga.CommandsOf(app)
	sort.Strings(have)
	sort.Strings(want)
	if !slices.Equal(have, want) {
		return fmt.Errorf("%s: step table %v and saga %v disagree", app, have, want)
	}
	return nil
}

// Execute runs a step under the fault plan and publishes its outcome (a recorded one
// too, in case its first publication was lost) if the saga's coordination of this mode
// wants it published.
func Execute(ctx context.Context, d *Deps, command string, mode contracts.Mode, run func(context.Context) (inbox.Outcome, error)) (inbox.Outcome, error) {
	index, _, err := d.Saga.ByCommand(command)
	if err != nil {
		return inbox.Outcome{}, err
	}
	var publish func(context.Context, inbox.Outcome) error
	if d.Saga.Publishes(mode, index) {
		publish = func(ctx context.Context, o inbox.Outcome) error {
			if o.EventType == nil || *o.EventType == "" || !hasEvent(o) {
				return nil
			}
			if err := d.Publisher.PublishRaw(ctx, *o.EventType, o.Event); err != nil {
				return fmt.Errorf("publishing the outcome of %s: %w", command, err)
			}
			return nil
		}
	}
	return faults.Around(ctx, d.Faults, command, run, publish)
}

func hasEvent(o inbox.Outcome) bool {
	s := string(o.Event)
	return s != "" && s != "null" && s != "{}"
}

// OnEvent runs the step a routed event starts, unless this mode runs it by invocation.
func OnEvent(ctx context.Context, d *Deps, route contracts.Route, eventType string, head contracts.Message, order *contracts.OrderContext) error {
	index, err := d.Saga.StepNamed(route.Step)
	if err != nil {
		return err
	}
	if !d.Saga.RunsByEvents(head.Mode, index, route.Action) {
		d.Inbox.Counts.Inc(stats.IgnoredOtherMode)
		return nil
	}
	command := d.Saga.CommandOf(index, route.Action)
	for _, e := range Steps {
		if e.Command == command {
			cmd := contracts.Message{OrderID: head.OrderID, Mode: head.Mode, CausationID: head.OrderID + ":" + eventType}
			_, err := e.FromEvent(ctx, d, cmd, order)
			return err
		}
	}
	return fmt.Errorf("no handler of %s", command)
}
