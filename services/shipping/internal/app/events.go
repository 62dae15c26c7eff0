package app

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"

	"daprshop/libs/contracts/go/contracts"
	"daprshop/services/shipping/internal/handlers"
	"daprshop/services/shipping/internal/httpx"
	"daprshop/services/shipping/internal/stats"
)

// What a subscriber answers daprd: DROP sends the message to the dead-letter topic.
var (
	drop    = map[string]string{"status": "DROP"}
	success = map[string]string{"status": "SUCCESS"}
)

func (a *App) subscriptions(w http.ResponseWriter, _ *http.Request) error {
	var subs []map[string]any
	for _, t := range Topics(a.Deps.Saga, a.Settings.AppID, a.Settings.PubsubName) {
		subs = append(subs, map[string]any{
			"pubsubname": a.Settings.PubsubName, "topic": t.Name, "route": t.Route,
			"metadata": map[string]string{}, "deadLetterTopic": a.Deps.Saga.Topics.DeadLetters,
		})
	}
	httpx.WriteJSON(w, http.StatusOK, subs)
	return nil
}

// envelope reads the CloudEvent daprd delivered; if the body is not one, it logs it, answers
// DROP (a 422 would make daprd retry what no retry can fix) and returns nil, nil.
func envelope(w http.ResponseWriter, r *http.Request) (*contracts.CloudEvent, error) {
	body, err := httpx.ReadBody(r)
	if err != nil {
		return nil, err
	}
	env, err := contracts.Parse[contracts.CloudEvent]("CloudEvent", body)
	if err != nil {
		slog.Warn("dropping a malformed delivery", "path", r.URL.Path, "error", err)
		httpx.WriteJSON(w, http.StatusOK, drop)
		return nil, nil
	}
	return env, nil
}

// eventHead: what a routed event gives the command it starts.
type eventHead struct {
	contracts.Message
	Order *contracts.OrderContext `json:"order"`
}

func (a *App) eventName(eventType string) string {
	for _, s := range a.Deps.Saga.Steps {
		for _, n := range []contracts.Named{s.Command, s.Succeeded, s.Failed, s.Compensation, s.Compensated} {
			if n.Type == eventType {
				return n.Name
			}
		}
	}
	return ""
}

// payload: the event's data checked against its contract. The ids an event carries as
// published are derived ones (order and type), so they are set from the order id, as the
// Python consumers derive them, whatever the sender wrote.
func payload(name, eventType string, data json.RawMessage) (*eventHead, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var fields map[string]any
	if err := dec.Decode(&fields); err != nil {
		return nil, err
	}
	delete(fields, "message_id")
	delete(fields, "correlation_id")
	if id, ok := fields["order_id"].(string); ok {
		fields["message_id"], fields["correlation_id"] = id+":"+eventType, id
	}
	body, err := json.Marshal(fields)
	if err != nil {
		return nil, err
	}
	if err := contracts.Validate(name, body); err != nil {
		return nil, err
	}
	head := eventHead{Message: contracts.Message{Mode: contracts.Choreography}}
	if err := json.Unmarshal(body, &head); err != nil {
		return nil, err
	}
	return &head, nil
}

func (a *App) onEvent(types map[string]contracts.Route) httpx.Handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		env, err := envelope(w, r)
		if env == nil || err != nil { // nil, nil: dropped, and answered
			return err
		}
		route, ok := types[env.Type]
		if !ok {
			httpx.WriteJSON(w, http.StatusOK, success)
			return nil
		}
		head, err := payload(a.eventName(env.Type), env.Type, env.Data)
		if err != nil {
			slog.Warn("dropping a malformed event", "type", env.Type, "id", env.ID, "to", a.Deps.Saga.Topics.DeadLetters, "error", err)
			httpx.WriteJSON(w, http.StatusOK, drop)
			return nil
		}
		a.Counts.Inc(stats.EventsReceived)
		if err := handlers.OnEvent(detached(r), a.Deps, route, env.Type, head.Message, head.Order); err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, success)
		return nil
	}
}

func (a *App) onPinged(w http.ResponseWriter, r *http.Request) error {
	env, err := envelope(w, r)
	if env == nil || err != nil { // nil, nil: dropped, and answered
		return err
	}
	ping, err := contracts.Parse[contracts.Pinged]("Pinged", env.Data)
	if err != nil {
		slog.Warn("dropping a malformed ping", "to", a.Deps.Saga.Topics.DeadLetters, "error", err)
		httpx.WriteJSON(w, http.StatusOK, drop)
		return nil
	}
	record, err := json.Marshal(map[string]string{"ping_id": ping.PingID, "sender": ping.Sender, "cloudevent_id": env.ID})
	if err != nil {
		return err
	}
	if err := a.Store.Save(r.Context(), "ping:"+ping.PingID, record, ""); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, success)
	return nil
}
