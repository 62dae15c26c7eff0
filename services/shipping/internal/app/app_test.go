package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	"daprshop/libs/contracts/go/contracts"
	"daprshop/services/shipping/internal/auth"
	"daprshop/services/shipping/internal/fakes"
	"daprshop/services/shipping/internal/faults"
	"daprshop/services/shipping/internal/handlers"
	"daprshop/services/shipping/internal/inbox"
	"daprshop/services/shipping/internal/ports"
	"daprshop/services/shipping/internal/settings"
	"daprshop/services/shipping/internal/state"
	"daprshop/services/shipping/internal/stats"
	"daprshop/services/shipping/internal/tracing"
)

const token, adminToken = "app-token", "admin-secret"

type rig struct {
	app     *App
	h       http.Handler
	store   *fakes.Store
	pub     *fakes.Publisher
	secrets *fakes.Secrets
}

func newRig(t *testing.T) rig {
	t.Helper()
	s, err := settings.FromEnv(func(k string) string {
		return map[string]string{"APP_API_TOKEN": token, "DAPRSHOP_INSTANCE": "shipping-1"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	saga, err := contracts.LoadSaga()
	if err != nil {
		t.Fatal(err)
	}
	list, err := LoadDestinations()
	if err != nil {
		t.Fatal(err)
	}
	store, pub := fakes.NewStore(), &fakes.Publisher{}
	secrets := &fakes.Secrets{Values: map[string]string{auth.AdminSecret: adminToken}}
	counts := stats.New()
	plan := faults.NewPlan(nil)
	deps := &handlers.Deps{
		Inbox: inbox.Deps{Store: store, Locks: state.NewLocks(), Counts: counts}, Publisher: pub,
		Faults: plan, Saga: saga, Destinations: ByCountry(list), Now: time.Now,
	}
	a, err := New(s, deps, store, secrets, counts)
	if err != nil {
		t.Fatal(err)
	}
	return rig{app: a, h: a.Handler(), store: store, pub: pub, secrets: secrets}
}

func (r rig) do(t *testing.T, method, path string, body []byte, headers map[string]string) (*httptest.ResponseRecorder, any) {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("dapr-api-token", token)
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	w := httptest.NewRecorder()
	r.h.ServeHTTP(w, req)
	var answer any
	if err := json.Unmarshal(w.Body.Bytes(), &answer); err != nil && method != http.MethodHead {
		t.Fatalf("%s %s answered non-JSON %q", method, path, w.Body.String())
	}
	return w, answer
}

func command(orderID, country string) []byte {
	b, _ := json.Marshal(map[string]any{
		"order_id": orderID, "mode": "choreography",
		"order": map[string]any{"customer_id": "c", "items": []any{map[string]any{"sku": "S", "quantity": 1}}, "total": 5,
			"address": map[string]any{"name": "n", "line1": "l", "city": "c", "postal_code": "p", "country": country}},
	})
	return b
}

func detail(answer any) any { return answer.(map[string]any)["detail"] }

func TestTokenIsRequiredButForHealthz(t *testing.T) {
	r := newRig(t)
	for _, tt := range []struct {
		method, path string
		headers      map[string]string
		want         int
	}{
		{"GET", "/healthz", map[string]string{"dapr-api-token": ""}, 200},
		{"HEAD", "/healthz", map[string]string{"dapr-api-token": ""}, 200},
		{"GET", "/healthz/x", map[string]string{"dapr-api-token": ""}, 404},
		{"GET", "/diagnostics/stats", map[string]string{"dapr-api-token": ""}, 401},
		{"GET", "/diagnostics/stats", map[string]string{"dapr-api-token": "wrong"}, 401},
		{"POST", "/healthz", map[string]string{"dapr-api-token": ""}, 401},
		{"GET", "/openapi.json", map[string]string{"dapr-api-token": ""}, 401},
		{"GET", "/diagnostics/stats", nil, 200},
	} {
		w, answer := r.do(t, tt.method, tt.path, nil, tt.headers)
		if w.Code != tt.want {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.path, w.Code, tt.want)
		}
		if w.Code == 401 && detail(answer) != auth.NoToken {
			t.Errorf("401 detail %v", answer)
		}
	}
	req := httptest.NewRequest("GET", "/diagnostics/stats", nil)
	req.Header.Add("dapr-api-token", token)
	req.Header.Add("dapr-api-token", token)
	w := httptest.NewRecorder()
	r.h.ServeHTTP(w, req)
	if w.Code != 401 {
		t.Errorf("two token headers: %d", w.Code)
	}
}

func TestHealthz(t *testing.T) {
	_, answer := newRig(t).do(t, "GET", "/healthz", nil, nil)
	want := map[string]any{"status": "ok", "app_id": "shipping", "instance": "shipping-1"}
	if fmt.Sprint(answer) != fmt.Sprint(want) {
		t.Fatalf("%v", answer)
	}
}

func TestAdminFaults(t *testing.T) {
	r := newRig(t)
	plan := []byte(`{"commands":{"ScheduleShipment":{"delay_before_s":2,"times":1}}}`)
	if w, a := r.do(t, "PUT", "/admin/faults", plan, nil); w.Code != 401 || detail(a) != auth.NotAdmin {
		t.Fatalf("no admin token: %d %v", w.Code, a)
	}
	if w, _ := r.do(t, "PUT", "/admin/faults", plan, map[string]string{"X-Admin-Token": "nope"}); w.Code != 401 {
		t.Fatalf("wrong admin token: %d", w.Code)
	}
	if w, _ := r.do(t, "PUT", "/admin/faults", []byte(`{bad`), nil); w.Code != 422 {
		t.Fatalf("unparsable JSON is a 422 before the admin check: %d", w.Code)
	}
	w, a := r.do(t, "PUT", "/admin/faults", plan, map[string]string{"X-Admin-Token": adminToken})
	fault := a.(map[string]any)["commands"].(map[string]any)["ScheduleShipment"].(map[string]any)
	if w.Code != 200 || fault["delay_before_s"] != 2.0 || fault["times"] != 1.0 || fault["error_rate"] != 0.0 {
		t.Fatalf("put: %d %v", w.Code, a)
	}
	if w, a := r.do(t, "GET", "/admin/faults", nil, map[string]string{"X-Admin-Token": adminToken}); w.Code != 200 || len(a.(map[string]any)["commands"].(map[string]any)) != 1 {
		t.Fatalf("get: %d %v", w.Code, a)
	}
	r.secrets.Err = fmt.Errorf("store down: %w", ports.ErrSecretUnavailable)
	w, _ = r.do(t, "GET", "/admin/faults", nil, map[string]string{"X-Admin-Token": adminToken})
	if w.Code != 503 || w.Header().Get("Retry-After") != "5" {
		t.Fatalf("unreadable secret store: %d %v", w.Code, w.Header())
	}
}

func TestBodyLimit(t *testing.T) {
	r := newRig(t)
	big := append([]byte(`{"order_id":"`), bytes.Repeat([]byte("x"), 70000)...)
	w, a := r.do(t, "POST", "/commands/ScheduleShipment", big, nil)
	if w.Code != 413 || detail(a) != fmt.Sprintf("request body is %d bytes or more; the limit is 65536", len(big)) {
		t.Fatalf("by Content-Length: %d %v", w.Code, a)
	}
	if w.Header().Get("Connection") != "close" {
		t.Fatal("a 413 must close the connection rather than read the rest of the body")
	}
	req := httptest.NewRequest("POST", "/commands/ScheduleShipment", io.MultiReader(bytes.NewReader(big)))
	req.ContentLength = -1 // chunked: no length
	req.Header.Set("dapr-api-token", token)
	rec := httptest.NewRecorder()
	r.h.ServeHTTP(rec, req)
	if rec.Code != 413 || !strings.Contains(rec.Body.String(), "the limit is 65536") {
		t.Fatalf("by bytes read: %d %s", rec.Code, rec.Body)
	}
}

func TestCommandAnswers(t *testing.T) {
	r := newRig(t)
	for _, tt := range []struct {
		name string
		body string
		want int
		loc  []any
	}{
		{"invalid JSON", `{"order_id":`, 422, nil},
		{"no body", ``, 422, []any{"body"}},
		{"lower-case country", string(command("o1", "us")), 422, []any{"body", "order", "address", "country"}},
		{"lone surrogate", `{"order_id":"o1","causation_id":"x\udc00"}`, 422, []any{"body", "causation_id"}},
		{"float quantity", strings.Replace(string(command("o1", "US")), `"quantity":1`, `"quantity":1.0`, 1), 422, []any{"body", "order", "items", 0.0, "quantity"}},
		{"extra field", `{"order_id":"o1","x":1}`, 422, []any{"body", "x"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := "/commands/ScheduleShipment"
			if tt.name == "lone surrogate" || tt.name == "extra field" {
				path = "/commands/CancelShipment"
			}
			w, a := r.do(t, "POST", path, []byte(tt.body), nil)
			if w.Code != tt.want {
				t.Fatalf("%d %v", w.Code, a)
			}
			errs := detail(a).([]any)
			found := tt.loc == nil
			for _, e := range errs {
				fe := e.(map[string]any)
				if fe["msg"] == nil || fe["type"] == nil {
					t.Fatalf("error without msg/type: %v", fe)
				}
				if fmt.Sprint(fe["loc"]) == fmt.Sprint(tt.loc) {
					found = true
				}
			}
			if !found {
				t.Fatalf("no error at %v: %v", tt.loc, errs)
			}
		})
	}
	w, a := r.do(t, "POST", "/commands/ScheduleShipment", command("o1", "US"), nil)
	out := a.(map[string]any)
	if w.Code != 200 || out["event_type"] != "shipping.ShipmentScheduled.v1" || out["duplicate"] != false || out["refused"] != nil {
		t.Fatalf("schedule: %d %v", w.Code, a)
	}
	event := out["event"].(map[string]any)
	keys := []string{"order_id", "mode", "causation_id", "occurred_at", "attempt", "shipment_id", "message_id", "correlation_id"}
	if len(event) != len(keys) || event["message_id"] != "o1:shipping.ShipmentScheduled.v1" {
		t.Fatalf("event %v", event)
	}
	if _, a := r.do(t, "POST", "/commands/ScheduleShipment", command("o1", "US"), nil); a.(map[string]any)["duplicate"] != true {
		t.Fatalf("redelivery: %v", a)
	}
	r.do(t, "POST", "/commands/CancelShipment", []byte(`{"order_id":"o2"}`), nil)
	if w, a := r.do(t, "POST", "/commands/ScheduleShipment", command("o2", "US"), nil); w.Code != 409 || !strings.Contains(detail(a).(string), "already cancelled") {
		t.Fatalf("after a cancellation: %d %v", w.Code, a)
	}
	if w, _ := r.do(t, "DELETE", "/commands/ScheduleShipment", nil, nil); w.Code != 405 {
		t.Fatalf("wrong method: %d", w.Code)
	}
	if w, _ := r.do(t, "GET", "/nowhere", nil, nil); w.Code != 404 {
		t.Fatalf("unknown path: %d", w.Code)
	}
}

func TestSidecarUnavailableIsA503(t *testing.T) {
	r := newRig(t)
	r.store.Err = &ports.SidecarUnavailableError{Code: "UNAVAILABLE", Err: fmt.Errorf("down")}
	w, a := r.do(t, "POST", "/commands/CancelShipment", []byte(`{"order_id":"o1"}`), nil)
	if w.Code != 503 || w.Header().Get("Retry-After") != "1" || !strings.Contains(detail(a).(string), "sidecar is unavailable") {
		t.Fatalf("%d %v", w.Code, a)
	}
}

func cloudEvent(eventType string, data any) []byte {
	b, _ := json.Marshal(map[string]any{"id": "e1", "type": eventType, "source": "payments", "data": data})
	return b
}

func TestSubscriptions(t *testing.T) {
	r := newRig(t)
	_, a := r.do(t, "GET", "/dapr/subscribe", nil, nil)
	want := `[{"deadLetterTopic":"deadletters","metadata":{},"pubsubname":"pubsub","route":"/events/payments","topic":"payments"},` +
		`{"deadLetterTopic":"deadletters","metadata":{},"pubsubname":"pubsub","route":"/events/pubsub/diagnostics","topic":"diagnostics"}]`
	if got, _ := json.Marshal(a); string(got) != want {
		t.Fatalf("%s", got)
	}
	var order map[string]any
	_ = json.Unmarshal(command("o1", "US"), &order)
	charged := map[string]any{"order_id": "o1", "mode": "choreography", "occurred_at": "2024-01-01T00:00:00Z", "amount": 5, "order": order["order"]}
	for _, tt := range []struct {
		name, path string
		body       []byte
		want       string
	}{
		{"not an envelope", "/events/payments", []byte(`[1]`), "DROP"},
		{"not JSON", "/events/payments", []byte(`{`), "DROP"},
		{"a type nobody handles", "/events/payments", cloudEvent("payments.PaymentRefunded.v1", map[string]any{}), "SUCCESS"},
		{"a malformed payload", "/events/payments", cloudEvent("payments.PaymentCharged.v1", map[string]any{"order_id": "o1"}), "DROP"},
		{"a charge", "/events/payments", cloudEvent("payments.PaymentCharged.v1", charged), "SUCCESS"},
		{"a malformed ping", "/events/pubsub/diagnostics", cloudEvent("diagnostics.Pinged.v1", map[string]any{"no": 1}), "DROP"},
		{"a ping", "/events/pubsub/diagnostics", cloudEvent("diagnostics.Pinged.v1", map[string]any{"ping_id": "p1", "sender": "orders"}), "SUCCESS"},
	} {
		w, a := r.do(t, "POST", tt.path, tt.body, nil)
		if w.Code != 200 || a.(map[string]any)["status"] != tt.want {
			t.Errorf("%s: %d %v", tt.name, w.Code, a)
		}
	}
	if r.pub.Count() != 1 || r.app.Counts.Snapshot()[stats.EventsReceived] != 1 {
		t.Fatalf("published %d, stats %v", r.pub.Count(), r.app.Counts.Snapshot())
	}
	var ev map[string]any
	_ = json.Unmarshal(r.pub.Sent[0].Data, &ev)
	if ev["causation_id"] != "o1:payments.PaymentCharged.v1" {
		t.Fatalf("event %v", ev)
	}
	if _, a := r.do(t, "GET", "/diagnostics/pings/p1", nil, nil); a.(map[string]any)["cloudevent_id"] != "e1" {
		t.Fatalf("ping %v", a)
	}
	if w, a := r.do(t, "GET", "/diagnostics/pings/nope", nil, nil); w.Code != 404 || detail(a) != "ping 'nope' has not arrived at shipping" {
		t.Fatalf("absent ping %d %v", w.Code, a)
	}
	r.app.Deps.Faults.Replace(map[string]contracts.Fault{"ScheduleShipment": {ErrorRate: 1}})
	charged["order_id"] = "o9"
	if w, _ := r.do(t, "POST", "/events/payments", cloudEvent("payments.PaymentCharged.v1", charged), nil); w.Code != 503 {
		t.Fatalf("an injected fault must make Dapr retry: %d", w.Code)
	}
}

func TestAuditViews(t *testing.T) {
	r := newRig(t)
	r.do(t, "POST", "/commands/ScheduleShipment", command("o1", "AQ"), nil)
	w, a := r.do(t, "GET", "/shipments/o1", nil, nil)
	if w.Code != 200 || a.(map[string]any)["status"] != "failed" || a.(map[string]any)["inbox"] == nil {
		t.Fatalf("one: %d %v", w.Code, a)
	}
	if w, a := r.do(t, "GET", "/shipments/o2", nil, nil); w.Code != 404 || detail(a) != "no shipment for order 'o2'" {
		t.Fatalf("absent: %d %v", w.Code, a)
	}
	page := state.PageOf("shipment:o1")
	_, a = r.do(t, "GET", fmt.Sprintf("/shipments?page=%d", page), nil, nil)
	records := a.(map[string]any)["records"].([]any)
	if len(records) != 1 || records[0].(map[string]any)["inbox"] != nil || a.(map[string]any)["next_page"] != float64(page+1) {
		t.Fatalf("page: %v", a)
	}
	if _, a := r.do(t, "GET", "/shipments?page=63", nil, nil); a.(map[string]any)["next_page"] != nil {
		t.Fatalf("last page: %v", a)
	}
	for _, p := range []string{"64", "-1", "x"} {
		if w, _ := r.do(t, "GET", "/shipments?page="+p, nil, nil); w.Code != 422 {
			t.Errorf("page %s: %d", p, w.Code)
		}
	}
	_, a = r.do(t, "POST", "/shipments/lookup", []byte(`{"order_ids":["o1","o2"]}`), nil)
	if got := a.(map[string]any); len(got) != 1 || got["o1"].(map[string]any)["country"] != "AQ" {
		t.Fatalf("lookup: %v", a)
	}
	ids, _ := json.Marshal(map[string]any{"order_ids": make([]string, 1001)})
	if w, _ := r.do(t, "POST", "/shipments/lookup", ids, nil); w.Code != 422 {
		t.Fatalf("1001 ids: %d", w.Code)
	}
	_, a = r.do(t, "GET", "/destinations", nil, nil)
	first := a.([]any)[0].(map[string]any)
	if len(a.([]any)) != 31 || first["country"] != "US" || first["why"] != "" {
		t.Fatalf("destinations: %v", a)
	}
}

// Every route of the mux is in the OpenAPI document, and every documented operation is
// served (neither 404 nor 405).
func TestOpenAPICoversTheRoutes(t *testing.T) {
	r := newRig(t)
	_, a := r.do(t, "GET", "/openapi.json", nil, nil)
	doc := a.(map[string]any)
	if doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi %v", doc["openapi"])
	}
	paths := doc["paths"].(map[string]any)
	documented := map[string]bool{}
	for path, item := range paths {
		for method, op := range item.(map[string]any) {
			documented[strings.ToUpper(method)+" "+path] = true
			concrete := strings.NewReplacer("{order_id}", "o1", "{ping_id}", "p1").Replace(path)
			req := httptest.NewRequest(strings.ToUpper(method), concrete, strings.NewReader("{}"))
			if _, pattern := r.app.Mux().Handler(req); pattern != strings.ToUpper(method)+" "+path {
				t.Errorf("%s %s is documented but served by %q", method, path, pattern)
			}
			o := op.(map[string]any)
			responses := o["responses"].(map[string]any)
			if path != "/healthz" && (responses["401"] == nil || o["security"] == nil) {
				t.Errorf("%s %s: no 401 or security", method, path)
			}
			if o["requestBody"] != nil && responses["413"] == nil {
				t.Errorf("%s %s: a body without its 413", method, path)
			}
		}
	}
	for _, route := range r.app.Routes {
		if !documented[route.Method+" "+route.Path] {
			t.Errorf("%s %s is served but not documented", route.Method, route.Path)
		}
	}
	if len(documented) != len(r.app.Routes) {
		t.Errorf("%d operations documented, %d routes", len(documented), len(r.app.Routes))
	}
	page := paths["/shipments"].(map[string]any)["get"].(map[string]any)["parameters"].([]any)[0].(map[string]any)["schema"].(map[string]any)
	if page["minimum"] != 0.0 || page["exclusiveMaximum"] != 64.0 {
		t.Errorf("page schema %v", page)
	}
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	for _, name := range []string{"ScheduleShipment", "CancelShipment", "OrderContext", "Address", "FaultPlan", "Lookup", "HTTPValidationError"} {
		if schemas[name] == nil {
			t.Errorf("no component %s", name)
		}
	}
	if body, _ := json.Marshal(doc); strings.Contains(string(body), "#/$defs/") {
		t.Error("a $ref still points into $defs")
	}
}

// The request's traceparent reaches the context of the sidecar calls made for it.
func TestTraceparentIsKept(t *testing.T) {
	tp := "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	var seen string
	h := tracing.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { seen = tracing.From(r.Context()) }))
	for _, tt := range []struct{ sent, want string }{
		{tp, tp},
		{"00-00000000000000000000000000000000-b7ad6b7169203331-01", ""},
		{"garbage", ""},
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("traceparent", tt.sent)
		h.ServeHTTP(httptest.NewRecorder(), req)
		if seen != tt.want {
			t.Errorf("%q: kept %q", tt.sent, seen)
		}
	}
	var md metadata.MD
	invoker := func(ctx context.Context, _ string, _, _ any, _ *grpcConn, _ ...grpcOpt) error {
		md, _ = metadata.FromOutgoingContext(ctx)
		return nil
	}
	_ = tracing.UnaryInterceptor(tracing.With(context.Background(), tp), "/x", nil, nil, nil, invoker)
	if got := md.Get("traceparent"); len(got) != 1 || got[0] != tp {
		t.Fatalf("metadata %v", md)
	}
}
