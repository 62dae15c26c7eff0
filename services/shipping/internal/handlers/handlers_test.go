package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"daprshop/libs/contracts/go/contracts"
	"daprshop/services/shipping/internal/domain"
	"daprshop/services/shipping/internal/fakes"
	"daprshop/services/shipping/internal/faults"
	"daprshop/services/shipping/internal/inbox"
	"daprshop/services/shipping/internal/state"
	"daprshop/services/shipping/internal/stats"
)

type rig struct {
	deps  *Deps
	store *fakes.Store
	pub   *fakes.Publisher
}

func newRig(t *testing.T) rig {
	t.Helper()
	saga, err := contracts.LoadSaga()
	if err != nil {
		t.Fatal(err)
	}
	store, pub := fakes.NewStore(), &fakes.Publisher{}
	plan := faults.NewPlan(nil)
	plan.Sleep = func(context.Context, time.Duration) error { return nil }
	return rig{
		deps: &Deps{
			Inbox:     inbox.Deps{Store: store, Locks: state.NewLocks(), Counts: stats.New()},
			Publisher: pub, Faults: plan, Saga: saga,
			Destinations: map[string]domain.Destination{"US": {Country: "US", Shippable: true}},
			Now:          func() time.Time { return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) },
		},
		store: store, pub: pub,
	}
}

func body(mode contracts.Mode, country string) []byte {
	b, _ := json.Marshal(map[string]any{
		"order_id": "o1", "mode": mode, "causation_id": "c",
		"order": map[string]any{"customer_id": "c", "items": []any{map[string]any{"sku": "S", "quantity": 1}}, "total": 5,
			"address": map[string]any{"name": "n", "line1": "l", "city": "c", "postal_code": "p", "country": country}},
	})
	return b
}

func invoke(t *testing.T, r rig, command string, raw []byte) (inbox.Outcome, error) {
	t.Helper()
	for _, e := range Steps {
		if e.Command == command {
			return e.Invoke(context.Background(), r.deps, raw)
		}
	}
	t.Fatalf("no step %s", command)
	return inbox.Outcome{}, nil
}

func TestTableMatchesTheSaga(t *testing.T) {
	if err := CheckTable(newRig(t).deps.Saga, "shipping", Steps); err != nil {
		t.Fatal(err)
	}
}

// A redelivered command gets the recorded outcome back, marked duplicate, with no second effect.
func TestRedeliveryIsADuplicate(t *testing.T) {
	r := newRig(t)
	first, err := invoke(t, r, "ScheduleShipment", body(contracts.Choreography, "US"))
	if err != nil || first.Duplicate || *first.EventType != domain.ScheduledType {
		t.Fatalf("first: %+v %v", first, err)
	}
	saves := r.store.Saves
	second, err := invoke(t, r, "ScheduleShipment", body(contracts.Choreography, "US"))
	if err != nil || !second.Duplicate || string(second.Event) != string(first.Event) {
		t.Fatalf("second: %+v %v", second, err)
	}
	if r.store.Saves != saves {
		t.Fatal("the duplicate wrote again")
	}
	if r.pub.Count() != 2 {
		t.Fatalf("published %d times; the recorded outcome is published again", r.pub.Count())
	}
	got := r.deps.Inbox.Counts.Snapshot()
	if got[stats.Applied] != 1 || got[stats.Duplicates] != 1 {
		t.Fatalf("stats %v", got)
	}
	rec := r.store.JSON("shipment:o1")
	entry := rec["inbox"].(map[string]any)["o1:schedule_shipment:forward"].(map[string]any)
	if rec["status"] != "scheduled" || rec["shipment_id"] != "shp_o1" || rec["country"] != "US" || entry["refused"] != nil {
		t.Fatalf("record %v", rec)
	}
	if index := r.store.JSON("index:" + itoa(state.PageOf("shipment:o1"))); index != nil {
		t.Fatal("the index page is a list, not an object")
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// A cancellation before the schedule leaves a tombstone: the late schedule is refused.
func TestCancelBeforeScheduleRefusesTheSchedule(t *testing.T) {
	r := newRig(t)
	if _, err := invoke(t, r, "CancelShipment", []byte(`{"order_id":"o1"}`)); err != nil {
		t.Fatal(err)
	}
	late, err := invoke(t, r, "ScheduleShipment", body(contracts.Choreography, "US"))
	if err != nil || late.Refused == nil || late.EventType != nil {
		t.Fatalf("late: %+v %v", late, err)
	}
	if r.store.JSON("shipment:o1")["status"] != "cancelled" {
		t.Fatal("the tombstone is gone")
	}
	if got := r.deps.Inbox.Counts.Snapshot(); got[stats.Refused] != 1 {
		t.Fatalf("stats %v", got)
	}
}

func TestETagConflictsAreRetried(t *testing.T) {
	r := newRig(t)
	r.store.Conflicts("shipment:o1", 3)
	out, err := invoke(t, r, "ScheduleShipment", body(contracts.Choreography, "US"))
	if err != nil || out.EventType == nil {
		t.Fatalf("%+v %v", out, err)
	}
	if got := r.deps.Inbox.Counts.Snapshot(); got[stats.ETagConflicts] != 3 || got[stats.Applied] != 1 {
		t.Fatalf("stats %v", got)
	}
	r.store.Conflicts("shipment:o2", state.MaxConflicts)
	raw := []byte(`{"order_id":"o2"}`)
	if _, err := invoke(t, r, "CancelShipment", raw); err == nil {
		t.Fatal("endless conflicts must fail")
	}
}

// Whether an outcome is published follows the saga's coordination of the command's mode.
func TestPublicationFollowsTheMode(t *testing.T) {
	for _, tt := range []struct {
		mode contracts.Mode
		want int
	}{{contracts.Choreography, 1}, {contracts.Hybrid, 1}, {contracts.Orchestration, 0}} {
		r := newRig(t)
		if _, err := invoke(t, r, "ScheduleShipment", body(tt.mode, "AQ")); err != nil {
			t.Fatal(err)
		}
		if r.pub.Count() != tt.want {
			t.Errorf("%s: published %d, want %d", tt.mode, r.pub.Count(), tt.want)
		}
	}
}

func TestFaultPlan(t *testing.T) {
	one := int64(1)
	tests := []struct {
		name      string
		fault     contracts.Fault
		wantErr   bool
		published int
		killed    bool
		dups      int
	}{
		{"error rate 1 fails before the effect", contracts.Fault{ErrorRate: 1}, true, 0, false, 0},
		{"duplicate rate 1 runs again and publishes again", contracts.Fault{DuplicateRate: 1}, false, 2, false, 1},
		{"crash after the effect", contracts.Fault{CrashAfter: true}, false, 1, true, 0},
		{"delays and times", contracts.Fault{DelayBeforeS: 1, DelayAfterS: 1, ReorderDelayMs: 10, Times: &one}, false, 1, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			killed := false
			var slept []time.Duration
			r.deps.Faults.Replace(map[string]contracts.Fault{"ScheduleShipment": tt.fault})
			r.deps.Faults.Random = func() float64 { return 0.5 }
			r.deps.Faults.Kill = func() { killed = true }
			r.deps.Faults.Sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
			_, err := invoke(t, r, "ScheduleShipment", body(contracts.Choreography, "US"))
			var injected *faults.InjectedError
			if tt.wantErr != errors.As(err, &injected) {
				t.Fatalf("err %v", err)
			}
			if tt.wantErr && r.store.JSON("shipment:o1") != nil {
				t.Fatal("an injected error must come before the effect")
			}
			if r.pub.Count() != tt.published || killed != tt.killed || r.deps.Inbox.Counts.Snapshot()[stats.Duplicates] != tt.dups {
				t.Fatalf("published %d killed %v stats %v", r.pub.Count(), killed, r.deps.Inbox.Counts.Snapshot())
			}
			if tt.fault.Times != nil {
				if len(slept) != 3 || slept[0] != time.Second || slept[1] != 5*time.Millisecond {
					t.Fatalf("slept %v", slept)
				}
				if _, left := r.deps.Faults.Snapshot().Commands["ScheduleShipment"]; left {
					t.Fatal("times: 1 must remove the fault after one call")
				}
			}
		})
	}
}

// An event of a mode that runs the step by invocation is counted and ignored.
func TestEventsOfAnotherModeAreIgnored(t *testing.T) {
	r := newRig(t)
	route := r.deps.Saga.RoutesOf("shipping")["payments.PaymentCharged.v1"]
	order := &contracts.OrderContext{CustomerID: "c", Total: 1, Address: contracts.Address{Country: "US"}}
	head := contracts.Message{OrderID: "o1", Mode: contracts.Orchestration}
	if err := OnEvent(context.Background(), r.deps, route, "payments.PaymentCharged.v1", head, order); err != nil {
		t.Fatal(err)
	}
	if r.deps.Inbox.Counts.Snapshot()[stats.IgnoredOtherMode] != 1 || r.store.JSON("shipment:o1") != nil {
		t.Fatal("an orchestrated event must be ignored")
	}
	head.Mode = contracts.Hybrid
	if err := OnEvent(context.Background(), r.deps, route, "payments.PaymentCharged.v1", head, order); err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	_ = json.Unmarshal(r.pub.Sent[0].Data, &ev)
	if ev["causation_id"] != "o1:payments.PaymentCharged.v1" || ev["mode"] != "hybrid" {
		t.Fatalf("event %v", ev)
	}
}
