package app

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"daprshop/libs/contracts/go/contracts"
	"daprshop/services/shipping/internal/auth"
	"daprshop/services/shipping/internal/handlers"
	"daprshop/services/shipping/internal/httpx"
	"daprshop/services/shipping/internal/state"
)

func sortStrings(s []string) { sort.Strings(s) }

// pyRepr quotes s as Python's repr of a str does for plain text (the Python answers' way).
func pyRepr(s string) string {
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}

// detached: a step, once started, runs to its end even if the caller hangs up (as the
// Python apps do), keeping the request's values (its traceparent).
func detached(r *http.Request) context.Context { return context.WithoutCancel(r.Context()) }

func (a *App) healthz(w http.ResponseWriter, _ *http.Request) error {
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok", "app_id": a.Settings.AppID, "instance": a.Settings.Instance})
	return nil
}

func (a *App) stats(w http.ResponseWriter, _ *http.Request) error {
	httpx.WriteJSON(w, http.StatusOK, a.Counts.Snapshot())
	return nil
}

func (a *App) command(e handlers.Entry) httpx.Handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		body, err := httpx.ReadBody(r)
		if err != nil {
			return err
		}
		outcome, err := e.Invoke(detached(r), a.Deps, body)
		if err != nil {
			return err
		}
		if outcome.Refused != nil {
			return &httpx.Error{Status: http.StatusConflict, Detail: *outcome.Refused}
		}
		httpx.WriteJSON(w, http.StatusOK, outcome)
		return nil
	}
}

func (a *App) destinations(w http.ResponseWriter, _ *http.Request) error {
	httpx.WriteJSON(w, http.StatusOK, a.destinationList())
	return nil
}

// withoutInbox: a record as the listings show it.
func withoutInbox(raw []byte) (map[string]json.RawMessage, error) {
	var rec map[string]json.RawMessage
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, err
	}
	delete(rec, "inbox")
	return rec, nil
}

func (a *App) every(w http.ResponseWriter, r *http.Request) error {
	page := 0
	if values := r.URL.Query()["page"]; len(values) > 0 {
		n, err := strconv.Atoi(strings.TrimSpace(values[len(values)-1]))
		var fe *contracts.FieldError
		switch {
		case err != nil:
			fe = &contracts.FieldError{Msg: "Input should be a valid integer, unable to parse string as an integer", Type: "int_parsing"}
		case n < 0:
			fe = &contracts.FieldError{Msg: "Input should be greater than or equal to 0", Type: "greater_than_equal"}
		case n >= state.Pages:
			fe = &contracts.FieldError{Msg: "Input should be less than " + strconv.Itoa(state.Pages), Type: "less_than"}
		}
		if fe != nil {
			fe.Loc = []any{"query", "page"}
			return &httpx.Error{Status: http.StatusUnprocessableEntity, Detail: []contracts.FieldError{*fe}}
		}
		page = n
	}
	found, err := state.Records(r.Context(), a.Store, page, handlers.RecordKey(""))
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(found))
	for k := range found {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	records := make([]map[string]json.RawMessage, 0, len(keys))
	for _, k := range keys {
		rec, err := withoutInbox(found[k])
		if err != nil {
			return err
		}
		records = append(records, rec)
	}
	var next *int
	if page+1 < state.Pages {
		n := page + 1
		next = &n
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"records": records, "next_page": next})
	return nil
}

func (a *App) one(w http.ResponseWriter, r *http.Request) error {
	orderID := r.PathValue("order_id")
	raw, _, err := a.Store.Get(r.Context(), handlers.RecordKey(orderID))
	if err != nil {
		return err
	}
	if raw == nil {
		return httpx.Errorf(http.StatusNotFound, "no shipment for order %s", pyRepr(orderID))
	}
	httpx.WriteJSON(w, http.StatusOK, json.RawMessage(raw))
	return nil
}

func (a *App) lookup(w http.ResponseWriter, r *http.Request) error {
	req, err := httpx.Decode[contracts.Lookup](r, "Lookup")
	if err != nil {
		return err
	}
	keys := make([]string, len(req.OrderIDs))
	for i, id := range req.OrderIDs {
		keys[i] = handlers.RecordKey(id)
	}
	found, err := a.Store.GetMany(r.Context(), keys)
	if err != nil {
		return err
	}
	out := map[string]map[string]json.RawMessage{}
	for _, raw := range found {
		rec, err := withoutInbox(raw)
		if err != nil {
			return err
		}
		var id string
		if err := json.Unmarshal(rec["order_id"], &id); err != nil {
			return err
		}
		out[id] = rec
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (a *App) putFaults(w http.ResponseWriter, r *http.Request) error {
	body, err := httpx.ReadBody(r)
	if err != nil {
		return err
	}
	if !json.Valid(body) { // FastAPI refuses unparsable JSON before it checks the admin token
		return contracts.Validate("FaultPlan", body)
	}
	if err := auth.CheckAdmin(r.Context(), a.Secrets, r.Header.Get("X-Admin-Token")); err != nil {
		return err
	}
	plan, err := contracts.Parse[contracts.FaultPlan]("FaultPlan", body)
	if err != nil {
		return err
	}
	a.Deps.Faults.Replace(plan.Commands)
	httpx.WriteJSON(w, http.StatusOK, plan)
	return nil
}

func (a *App) getFaults(w http.ResponseWriter, r *http.Request) error {
	if err := auth.CheckAdmin(r.Context(), a.Secrets, r.Header.Get("X-Admin-Token")); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, a.Deps.Faults.Snapshot())
	return nil
}

func (a *App) getPing(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("ping_id")
	raw, _, err := a.Store.Get(r.Context(), "ping:"+id)
	if err != nil {
		return err
	}
	if raw == nil {
		return httpx.Errorf(http.StatusNotFound, "ping %s has not arrived at %s", pyRepr(id), a.Settings.AppID)
	}
	httpx.WriteJSON(w, http.StatusOK, json.RawMessage(raw))
	return nil
}
