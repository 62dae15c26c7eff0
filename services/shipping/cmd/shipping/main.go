// Command shipping is daprshop's shipping participant: its composition root. `shipping
// healthcheck` GETs the running app's /healthz and exits 0 or 1 (the image's HEALTHCHECK).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	dapr "github.com/dapr/go-sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"daprshop/libs/contracts/go/contracts"
	"daprshop/services/shipping/internal/app"
	"daprshop/services/shipping/internal/daprx"
	"daprshop/services/shipping/internal/faults"
	"daprshop/services/shipping/internal/handlers"
	"daprshop/services/shipping/internal/inbox"
	"daprshop/services/shipping/internal/settings"
	"daprshop/services/shipping/internal/state"
	"daprshop/services/shipping/internal/stats"
	"daprshop/services/shipping/internal/tracing"
)

func main() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		os.Exit(healthcheck())
	}
	if err := run(); err != nil {
		slog.Error("shipping stopped", "error", err)
		os.Exit(1)
	}
}

func healthcheck() int {
	port := os.Getenv("APP_PORT")
	if port == "" {
		port = "8000"
	}
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://127.0.0.1:" + port + "/healthz")
	if err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck:", err)
		return 1
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(os.Stderr, "healthcheck: /healthz answered", resp.Status)
		return 1
	}
	return 0
}

// sidecarToken sends DAPR_API_TOKEN to the sidecar on every call. The connection is our
// own, not the SDK's dialer: that one blocks until the sidecar answers, and the app must
// start (and answer /healthz) before its sidecar does.
func sidecarToken(token string) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if token != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "dapr-api-token", token)
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

func run() error {
	s, err := settings.FromEnv(os.Getenv)
	if err != nil {
		return err
	}
	if err := contracts.Check(); err != nil {
		return err
	}
	saga, err := contracts.LoadSaga()
	if err != nil {
		return err
	}
	if err := handlers.CheckTable(saga, s.AppID, handlers.Steps); err != nil {
		return err
	}
	plan, err := faults.FromEnv()
	if err != nil {
		return err
	}
	destinations, err := app.LoadDestinations()
	if err != nil {
		return err
	}
	conn, err := grpc.NewClient(net.JoinHostPort(s.DaprHost, strconv.Itoa(s.DaprGRPCPort)),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(sidecarToken(s.DaprAPIToken), tracing.UnaryInterceptor),
		grpc.WithChainStreamInterceptor(tracing.StreamInterceptor))
	if err != nil {
		return fmt.Errorf("connecting to the Dapr sidecar: %w", err)
	}
	client := dapr.NewClientWithConnection(conn)
	defer client.Close()

	counts := stats.New()
	store := &daprx.Store{Client: client, Name: s.StateStore}
	deps := &handlers.Deps{
		Inbox:        inbox.Deps{Store: store, Locks: state.NewLocks(), Counts: counts},
		Publisher:    &daprx.Publisher{Client: client, Pubsub: s.PubsubName, Topic: s.AppID, Store: s.StateStore, Via: s.PublishVia},
		Faults:       plan,
		Saga:         saga,
		Destinations: app.ByCountry(destinations),
		Now:          time.Now,
	}
	secrets := &daprx.Secrets{Client: client, Store: s.SecretStore, Timeout: time.Duration(s.InvokeTimeoutS * float64(time.Second))}
	shipping, err := app.New(s, deps, store, secrets, counts)
	if err != nil {
		return err
	}
	server := &http.Server{
		Addr:              net.JoinHostPort(s.AppHost, strconv.Itoa(s.AppPort)),
		Handler:           shipping.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	failed := make(chan error, 1)
	go func() {
		slog.Info("shipping listening", "address", server.Addr, "app_id", s.AppID, "instance", s.Instance)
		if err := server.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
			failed <- err
		}
		close(failed)
	}()
	select {
	case err := <-failed:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	slog.Info("shutting down")
	done, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := server.Shutdown(done); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}
