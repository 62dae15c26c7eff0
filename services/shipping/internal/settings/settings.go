// Package settings reads shipping's environment once at start-up; invalid values fail
// the start, and errors name the variable, never a value (some values are tokens).
package settings

import (
	"errors"
	"fmt"
	"os"
	"strconv"
)

// MissingToken is the Python services' message for a missing APP_API_TOKEN.
const MissingToken = "APP_API_TOKEN is missing or empty: set it to the token this app's Dapr sidecar " +
	"sends (daprd's APP_API_TOKEN); only DAPRSHOP_SECURITY=off runs without it"

// Settings: where the app listens and where its sidecar is.
type Settings struct {
	AppID          string
	Instance       string
	AppHost        string
	AppPort        int
	DaprHTTPPort   int
	DaprGRPCPort   int
	DaprHost       string
	InvokeTimeoutS float64
	PubsubName     string
	StateStore     string
	PublishVia     string // direct | outbox
	AppAPIToken    string
	DaprAPIToken   string
	Security       bool
	SecretStore    string
}

// FromEnv reads the settings from `getenv` (os.Getenv in production).
func FromEnv(getenv func(string) string) (Settings, error) {
	or := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	s := Settings{
		AppID:        or("APP_ID", "shipping"),
		AppHost:      or("APP_HOST", "127.0.0.1"),
		DaprHost:     or("DAPR_RUNTIME_HOST", "127.0.0.1"),
		PubsubName:   or("PUBSUB_NAME", "pubsub"),
		PublishVia:   or("DAPRSHOP_PUBLISH_VIA", "direct"),
		AppAPIToken:  getenv("APP_API_TOKEN"),
		DaprAPIToken: getenv("DAPR_API_TOKEN"),
		SecretStore:  or("DAPRSHOP_SECRET_STORE", "daprshop-secrets"),
	}
	s.StateStore = or("STATESTORE_NAME", s.AppID+"-store")
	host, _ := os.Hostname()
	s.Instance = or("DAPRSHOP_INSTANCE", host)
	var errs []error
	port := func(name string, def int) int {
		n, err := strconv.Atoi(or(name, strconv.Itoa(def)))
		if err != nil || n <= 0 || n >= 65536 {
			errs = append(errs, fmt.Errorf("%s must be a port number (1-65535)", name))
		}
		return n
	}
	s.AppPort = port("APP_PORT", 8000)
	s.DaprHTTPPort = port("DAPR_HTTP_PORT", 3500)
	s.DaprGRPCPort = port("DAPR_GRPC_PORT", 50001)
	timeout, err := strconv.ParseFloat(or("INVOKE_TIMEOUT_S", "10"), 64)
	if err != nil || timeout <= 0 {
		errs = append(errs, errors.New("INVOKE_TIMEOUT_S must be a number of seconds above 0"))
	}
	s.InvokeTimeoutS = timeout
	if s.PublishVia != "direct" && s.PublishVia != "outbox" {
		errs = append(errs, errors.New("DAPRSHOP_PUBLISH_VIA must be direct or outbox"))
	}
	switch or("DAPRSHOP_SECURITY", "on") {
	case "on":
		s.Security = true
	case "off":
	default:
		errs = append(errs, errors.New("DAPRSHOP_SECURITY must be on or off"))
	}
	if s.Instance == "" {
		errs = append(errs, errors.New("DAPRSHOP_INSTANCE is empty and the host name unknown"))
	}
	if s.Security && s.AppAPIToken == "" {
		errs = append(errs, errors.New(MissingToken))
	}
	return s, errors.Join(errs...)
}
