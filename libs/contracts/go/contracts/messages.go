// Package contracts holds the Go types of the messages shipping reads and writes, checked
// against the JSON Schemas generated from the Python contracts (libs/contracts/data).
package contracts

import "encoding/json"

// Mode is how an order's saga is coordinated.
type Mode string

const (
	Choreography  Mode = "choreography"
	Orchestration Mode = "orchestration"
	Hybrid        Mode = "hybrid"
)

// Line is one SKU of an order; unit_price is integer cents (0 until priced).
type Line struct {
	SKU       string `json:"sku"`
	Quantity  int64  `json:"quantity"`
	UnitPrice int64  `json:"unit_price"`
}

// Address is where an order ships; country is ISO 3166-1 alpha-2.
type Address struct {
	Name       string `json:"name"`
	Line1      string `json:"line1"`
	City       string `json:"city"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
}

// OrderContext is the event-carried state of an order.
type OrderContext struct {
	CustomerID string  `json:"customer_id"`
	Items      []Line  `json:"items"`
	Total      int64   `json:"total"`
	Address    Address `json:"address"`
}

// Message holds the fields every command and event carries.
type Message struct {
	OrderID     string `json:"order_id"`
	Mode        Mode   `json:"mode"`
	CausationID string `json:"causation_id"`
}

// Occurrence holds when an event happened (RFC 3339, UTC) and its delivery attempt.
type Occurrence struct {
	OccurredAt string `json:"occurred_at"`
	Attempt    int64  `json:"attempt"`
}

// Envelope holds the ids an event carries as published: message_id is
// "<order_id>:<CloudEvent type>", correlation_id the order id.
type Envelope struct {
	MessageID     string `json:"message_id"`
	CorrelationID string `json:"correlation_id"`
}

// ScheduleShipment is the forward command of the shipping step.
type ScheduleShipment struct {
	Message
	Order OrderContext `json:"order"`
}

// CancelShipment is the compensation of the shipping step.
type CancelShipment struct {
	Message
}

// PaymentCharged is the event that starts shipping by choreography.
type PaymentCharged struct {
	Message
	Occurrence
	Order  OrderContext `json:"order"`
	Amount int64        `json:"amount"`
	Envelope
}

// ShipmentScheduled is the success of the shipping step.
type ShipmentScheduled struct {
	Message
	Occurrence
	ShipmentID string `json:"shipment_id"`
	Envelope
}

// ShipmentFailed is the failure of the shipping step.
type ShipmentFailed struct {
	Message
	Occurrence
	Reason string `json:"reason"`
	Detail string `json:"detail"`
	Envelope
}

// ShipmentCancelled is the outcome of the shipping step's compensation.
type ShipmentCancelled struct {
	Message
	Occurrence
	Envelope
}

// Pinged is a wiring check published by orders on the diagnostics topic.
type Pinged struct {
	PingID string `json:"ping_id"`
	Sender string `json:"sender"`
}

// CloudEvent is the part of Dapr's envelope a subscriber reads; Data is the payload.
type CloudEvent struct {
	ID          string          `json:"id"`
	Type        string          `json:"type"`
	Source      string          `json:"source"`
	Topic       string          `json:"topic"`
	Traceparent *string         `json:"traceparent"`
	Data        json.RawMessage `json:"data"`
}

// Fault is one command's injected faults (see the Python faults module).
type Fault struct {
	ErrorRate      float64 `json:"error_rate"`
	DelayBeforeS   float64 `json:"delay_before_s"`
	DelayAfterS    float64 `json:"delay_after_s"`
	CrashAfter     bool    `json:"crash_after"`
	DuplicateRate  float64 `json:"duplicate_rate"`
	ReorderDelayMs int64   `json:"reorder_delay_ms"`
	Lose           bool    `json:"lose"`
	Times          *int64  `json:"times"`
}

// FaultPlan is the faults per command name.
type FaultPlan struct {
	Commands map[string]Fault `json:"commands"`
}

// Lookup asks for many orders' records at once.
type Lookup struct {
	OrderIDs []string `json:"order_ids"`
}

// Defaults are the values a decoded message starts from, so that a field the JSON leaves
// out keeps its contract default (decoding only overwrites the fields present).
func defaultMessage() Message          { return Message{Mode: Choreography} }
func defaultOccurrence() Occurrence    { return Occurrence{Attempt: 1} }
func defaultFailure() (string, string) { return "shipping_failed", "" }

// kinds: every type this package defines, by schema name; strict types refuse unknown
// fields (pydantic extra="forbid"), the others ignore them.
var kinds = map[string]struct {
	strict bool
	new    func() any
}{
	"ScheduleShipment": {true, func() any { return &ScheduleShipment{Message: defaultMessage()} }},
	"CancelShipment":   {true, func() any { return &CancelShipment{Message: defaultMessage()} }},
	"PaymentCharged": {true, func() any {
		return &PaymentCharged{Message: defaultMessage(), Occurrence: defaultOccurrence()}
	}},
	"ShipmentScheduled": {true, func() any {
		return &ShipmentScheduled{Message: defaultMessage(), Occurrence: defaultOccurrence()}
	}},
	"ShipmentFailed": {true, func() any {
		reason, detail := defaultFailure()
		return &ShipmentFailed{
			Message: defaultMessage(), Occurrence: defaultOccurrence(), Reason: reason, Detail: detail,
		}
	}},
	"ShipmentCancelled": {true, func() any {
		return &ShipmentCancelled{Message: defaultMessage(), Occurrence: defaultOccurrence()}
	}},
	"Pinged":     {true, func() any { return new(Pinged) }},
	"CloudEvent": {false, func() any { return new(CloudEvent) }},
	"FaultPlan":  {false, func() any { return &FaultPlan{Commands: map[string]Fault{}} }},
	"Lookup":     {false, func() any { return new(Lookup) }},
}

// Names lists the schema names of the types this package defines.
func Names() []string {
	names := make([]string, 0, len(kinds))
	for name := range kinds {
		names = append(names, name)
	}
	return names
}

// New returns a new zero value of the type named `name`, or nil.
func New(name string) any {
	if k, ok := kinds[name]; ok {
		return k.new()
	}
	return nil
}

// Head returns the fields every command and event carries.
func (m Message) Head() Message { return m }
