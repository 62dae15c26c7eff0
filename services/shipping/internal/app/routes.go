// Package app is shipping's HTTP surface: one route table from which the mux and the
// OpenAPI document are both built, so neither can miss a route of the other.
package app

import (
	"fmt"
	"log/slog"
	"net/http"

	"daprshop/libs/contracts/go/contracts"
	"daprshop/services/shipping/internal/auth"
	"daprshop/services/shipping/internal/handlers"
	"daprshop/services/shipping/internal/httpx"
	"daprshop/services/shipping/internal/ports"
	"daprshop/services/shipping/internal/settings"
	"daprshop/services/shipping/internal/stats"
	"daprshop/services/shipping/internal/tracing"
)

// Param is a documented path, query or header parameter.
type Param struct {
	Name     string
	In       string
	Required bool
	Schema   map[string]any
}

// Route is one operation: how the mux serves it and how the document describes it.
type Route struct {
	Method      string
	Path        string
	Summary     string
	OperationID string
	Tag         string
	Body        string // contract schema name of the request body, "" for none
	Params      []Param
	Responses   map[string]string // extra answers: status -> description
	Admin       bool              // wants X-Admin-Token
	Public      bool              // needs no sidecar token
	Handler     httpx.Handler
}

// App is shipping's HTTP application.
type App struct {
	Settings settings.Settings
	Deps     *handlers.Deps
	Store    ports.Store
	Secrets  ports.Secrets
	Counts   *stats.Counters
	Routes   []Route
	openapi  map[string]any
}

// Topic is one subscription: its topic, its route, and the event types routed there.
type Topic struct {
	Name  string
	Route string
	Types map[string]contracts.Route
}

// Topics derives the saga subscriptions of app `id` from the saga's routes: an event's
// producer is its topic; and the diagnostics topic, at Dapr's default route.
func Topics(saga *contracts.Saga, id, pubsub string) []Topic {
	var topics []Topic
	index := map[string]int{}
	types := saga.RoutesOf(id)
	names := make([]string, 0, len(types))
	for t := range types {
		names = append(names, t)
	}
	sortStrings(names)
	for _, t := range names {
		topic := types[t].Topic
		i, ok := index[topic]
		if !ok {
			i = len(topics)
			index[topic] = i
			topics = append(topics, Topic{Name: topic, Route: "/events/" + topic, Types: map[string]contracts.Route{}})
		}
		topics[i].Types[t] = types[t]
	}
	diagnostics := saga.Topics.Diagnostics
	return append(topics, Topic{Name: diagnostics, Route: "/events/" + pubsub + "/" + diagnostics})
}

// New builds the app and its route table.
func New(s settings.Settings, d *handlers.Deps, store ports.Store, secrets ports.Secrets, counts *stats.Counters) (*App, error) {
	a := &App{Settings: s, Deps: d, Store: store, Secrets: secrets, Counts: counts}
	pathString := func(name, title string) Param {
		return Param{Name: name, In: "path", Required: true, Schema: map[string]any{"type": "string", "title": title}}
	}
	adminHeader := Param{Name: "x-admin-token", In: "header", Schema: map[string]any{
		"anyOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "null"}}, "title": "X-Admin-Token",
	}}
	admin := map[string]string{
		"401": "Missing or wrong X-Admin-Token",
		"503": "The secret store holding admin-token cannot be read; retry",
	}
	routes := []Route{
		{Method: "GET", Path: "/dapr/subscribe", Summary: "Get Subscriptions", OperationID: "get_subscriptions_dapr_subscribe_get", Handler: a.subscriptions},
		{Method: "GET", Path: "/healthz", Summary: "Liveness of this app (not of its sidecar)", OperationID: "healthz_healthz_get", Tag: "ops", Public: true, Handler: a.healthz},
		{Method: "GET", Path: "/diagnostics/stats", Summary: "Counters since start: events handled, duplicates absorbed, refusals", OperationID: "stats_diagnostics_stats_get", Tag: "ops", Handler: a.stats},
	}
	for _, e := range handlers.Steps {
		routes = append(routes, Route{
			Method: "POST", Path: "/commands/" + e.Command, Summary: e.Summary, Tag: "commands", Body: e.Command,
			OperationID: "endpoint_commands_" + e.Command + "_post",
			Responses: map[string]string{
				"409": "Refused: a compensation for this order already ran",
				"422": "The command does not match its contract, field by field",
			},
			Handler: a.command(e),
		})
	}
	topics := Topics(d.Saga, s.AppID, s.PubsubName)
	for _, t := range topics[:len(topics)-1] {
		routes = append(routes, Route{
			Method: "POST", Path: t.Route, Summary: "On Event", Tag: "events", Body: "CloudEvent",
			OperationID: "on_event_events_" + t.Name + "_post", Handler: a.onEvent(t.Types),
		})
	}
	routes = append(routes,
		Route{Method: "GET", Path: "/destinations", Summary: "Countries and whether they are shippable", OperationID: "destinations_destinations_get", Tag: "audit", Handler: a.destinations},
		Route{Method: "GET", Path: "/shipments", Summary: "Every order's shipment record, one index page at a time (read-only)", OperationID: "every_shipments_get", Tag: "audit",
			Params:  []Param{{Name: "page", In: "query", Schema: map[string]any{"type": "integer", "minimum": 0, "exclusiveMaximum": 64, "default": 0, "title": "Page"}}},
			Handler: a.every},
		Route{Method: "GET", Path: "/shipments/{order_id}", Summary: "The shipment of one order", OperationID: "one_shipments__order_id__get", Tag: "audit",
			Params: []Param{pathString("order_id", "Order Id")}, Handler: a.one},
		Route{Method: "POST", Path: "/shipments/lookup", Summary: "Many orders' shipment records at once (read-only)", OperationID: "many_shipments_lookup_post", Tag: "audit",
			Body: "Lookup", Handler: a.lookup},
		Route{Method: "PUT", Path: "/admin/faults", Summary: "Replace this participant's fault plan (empty object: no faults)", OperationID: "put_faults_admin_faults_put", Tag: "admin",
			Body: "FaultPlan", Params: []Param{adminHeader}, Responses: admin, Admin: true, Handler: a.putFaults},
		Route{Method: "GET", Path: "/admin/faults", Summary: "This participant's fault plan", OperationID: "get_faults_admin_faults_get", Tag: "admin",
			Params: []Param{adminHeader}, Responses: admin, Admin: true, Handler: a.getFaults},
		Route{Method: "POST", Path: topics[len(topics)-1].Route, Summary: "On Pinged", Tag: "events", Body: "CloudEvent",
			OperationID: "on_pinged_events_pubsub_diagnostics_post", Handler: a.onPinged},
		Route{Method: "GET", Path: "/diagnostics/pings/{ping_id}", Summary: "Whether a diagnostics ping published by orders reached this app", OperationID: "get_ping_diagnostics_pings__ping_id__get", Tag: "ops",
			Params: []Param{pathString("ping_id", "Ping Id")}, Handler: a.getPing},
	)
	a.Routes = routes
	doc, err := a.buildOpenAPI()
	if err != nil {
		return nil, err
	}
	a.openapi = doc
	return a, nil
}

// Mux serves the route table and GET /openapi.json.
func (a *App) Mux() *http.ServeMux {
	mux := http.NewServeMux()
	for _, r := range a.Routes {
		mux.Handle(r.Method+" "+r.Path, httpx.Handle(r.Handler))
	}
	mux.Handle("GET /openapi.json", httpx.Handle(func(w http.ResponseWriter, _ *http.Request) error {
		httpx.WriteJSON(w, http.StatusOK, a.openapi)
		return nil
	}))
	return mux
}

// Handler is the app as served: the sidecar token checked first (before any body is
// read), then the request's traceparent kept, then the routes.
func (a *App) Handler() http.Handler {
	h := tracing.Middleware(httpx.JSONFallbacks(a.Mux()))
	if !a.Settings.Security {
		slog.Warn(fmt.Sprintf("DAPRSHOP_SECURITY=off: %s does not check its sidecar's dapr-api-token; "+
			"every route is open to anyone who can reach port %d", a.Settings.AppID, a.Settings.AppPort))
		return h
	}
	return auth.SidecarToken(a.Settings.AppAPIToken, h)
}
