// Package tracing carries W3C trace context through shipping: the valid traceparent a
// request came with is kept in its context, and every gRPC call to the sidecar made while
// serving it sends it on as metadata (daprd reads it as the parent of its own span).
package tracing

import (
	"context"
	"net/http"
	"regexp"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// Header is the W3C trace context header (and gRPC metadata key).
const Header = "traceparent"

// version 00: trace id, parent span id, flags; ids not all zero (Go's RE2 has no
// lookahead, so the all-zero ids are refused after the match).
var format = regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$`)

const zeroTrace, zeroSpan = "00000000000000000000000000000000", "0000000000000000"

// Parse returns value if it is a valid traceparent, else "": a client's header is never trusted.
func Parse(value string) string {
	m := format.FindStringSubmatch(value)
	if m == nil || m[1] == zeroTrace || m[2] == zeroSpan {
		return ""
	}
	return value
}

type key struct{}

// With returns ctx carrying traceparent ("" leaves ctx as it is).
func With(ctx context.Context, traceparent string) context.Context {
	if traceparent == "" {
		return ctx
	}
	return context.WithValue(ctx, key{}, traceparent)
}

// From returns the traceparent ctx carries, or "".
func From(ctx context.Context) string {
	tp, _ := ctx.Value(key{}).(string)
	return tp
}

// Middleware keeps a request's single valid traceparent header in its context.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sent := r.Header.Values(Header); len(sent) == 1 {
			if tp := Parse(sent[0]); tp != "" {
				r = r.WithContext(With(r.Context(), tp))
			}
		}
		next.ServeHTTP(w, r)
	})
}

// UnaryInterceptor adds the context's traceparent to each unary gRPC call's metadata,
// unless the call sets one itself.
func UnaryInterceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	return invoker(outgoing(ctx), method, req, reply, cc, opts...)
}

// StreamInterceptor does the same for streaming calls.
func StreamInterceptor(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return streamer(outgoing(ctx), desc, cc, method, opts...)
}

func outgoing(ctx context.Context) context.Context {
	tp := From(ctx)
	if tp == "" {
		return ctx
	}
	if md, ok := metadata.FromOutgoingContext(ctx); ok && len(md.Get(Header)) > 0 {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, Header, tp)
}
