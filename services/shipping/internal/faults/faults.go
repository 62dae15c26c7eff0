// Package faults injects faults around a participant's commands (demos, chaos and load
// tests): an error rate, delays before and after the effect, a crash after it, duplicate
// deliveries and publications held back. Off unless DAPRSHOP_FAULTS or PUT /admin/faults
// sets a plan; a fault is a technical failure, never a business outcome.
package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"syscall"
	"time"

	"daprshop/libs/contracts/go/contracts"
)

// InjectedError is an injected failure (answered 503).
type InjectedError struct{ Command string }

func (e *InjectedError) Error() string {
	return fmt.Sprintf("injected fault: %s failed (DAPRSHOP_FAULTS)", e.Command)
}

// Plan is the running fault plan; safe for concurrent use.
type Plan struct {
	mu       sync.Mutex
	commands map[string]contracts.Fault
	Random   func() float64 // [0, 1)
	Sleep    func(ctx context.Context, d time.Duration) error
	Kill     func() // the process, at once
}

// NewPlan returns a plan holding `commands` (nil: no faults).
func NewPlan(commands map[string]contracts.Fault) *Plan {
	p := &Plan{Random: rand.Float64, Sleep: sleep, Kill: killSelf}
	p.Replace(commands)
	return p
}

// FromEnv reads DAPRSHOP_FAULTS: a JSON object of faults by command name.
func FromEnv() (*Plan, error) {
	raw := os.Getenv("DAPRSHOP_FAULTS")
	if raw == "" {
		return NewPlan(nil), nil
	}
	body, err := json.Marshal(map[string]json.RawMessage{"commands": json.RawMessage(raw)})
	if err != nil {
		return nil, fmt.Errorf("DAPRSHOP_FAULTS is not JSON: %w", err)
	}
	plan, err := contracts.Parse[contracts.FaultPlan]("FaultPlan", body)
	if err != nil {
		return nil, fmt.Errorf("DAPRSHOP_FAULTS: %w", err)
	}
	return NewPlan(plan.Commands), nil
}

// Replace swaps in a new plan.
func (p *Plan) Replace(commands map[string]contracts.Fault) {
	copied := make(map[string]contracts.Fault, len(commands))
	for k, v := range commands {
		copied[k] = v
	}
	p.mu.Lock()
	p.commands = copied
	p.mu.Unlock()
}

// Snapshot returns the plan as it is now.
func (p *Plan) Snapshot() contracts.FaultPlan {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := contracts.FaultPlan{Commands: make(map[string]contracts.Fault, len(p.commands))}
	for k, v := range p.commands {
		if v.Times != nil {
			t := *v.Times
			v.Times = &t
		}
		out.Commands[k] = v
	}
	return out
}

// take returns the command's fault, counting down `times` (the fault goes at zero).
func (p *Plan) take(command string) (contracts.Fault, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fault, ok := p.commands[command]
	if !ok {
		return fault, false
	}
	if fault.Times != nil {
		left := *fault.Times - 1
		if left <= 0 {
			delete(p.commands, command)
		} else {
			stored := fault
			stored.Times = &left
			p.commands[command] = stored
		}
	}
	return fault, true
}

// Around runs call (the step's effect), then publish with its result (nil: this mode
// publishes nothing), with the command's faults applied around them.
func Around[T any](ctx context.Context, p *Plan, command string, call func(context.Context) (T, error), publish func(context.Context, T) error) (T, error) {
	var zero T
	fault, ok := p.take(command)
	if !ok {
		result, err := call(ctx)
		if err != nil {
			return zero, err
		}
		if publish != nil {
			if err := publish(ctx, result); err != nil {
				return zero, err
			}
		}
		return result, nil
	}
	if p.Random() < fault.ErrorRate {
		return zero, &InjectedError{Command: command}
	}
	if err := p.Sleep(ctx, seconds(fault.DelayBeforeS)); err != nil {
		return zero, err
	}
	result, err := call(ctx)
	if err != nil {
		return zero, err
	}
	if err := heldBack(ctx, p, fault, result, publish); err != nil {
		return zero, err
	}
	if fault.CrashAfter {
		p.Kill()
	}
	if p.Random() < fault.DuplicateRate {
		again, err := call(ctx)
		if err != nil {
			return zero, err
		}
		if err := heldBack(ctx, p, fault, again, publish); err != nil {
			return zero, err
		}
	}
	if err := p.Sleep(ctx, seconds(fault.DelayAfterS)); err != nil {
		return zero, err
	}
	return result, nil
}

// heldBack publishes after a random wait up to reorder_delay_ms: before replying, so a
// crash meanwhile leads to a redelivery, not a loss.
func heldBack[T any](ctx context.Context, p *Plan, fault contracts.Fault, result T, publish func(context.Context, T) error) error {
	if publish == nil {
		return nil
	}
	if fault.ReorderDelayMs > 0 {
		wait := time.Duration(p.Random() * float64(fault.ReorderDelayMs) * float64(time.Millisecond))
		if err := p.Sleep(ctx, wait); err != nil {
			return err
		}
	}
	return publish(ctx, result)
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("injected delay: %w", ctx.Err())
	}
}

func killSelf() { _ = syscall.Kill(os.Getpid(), syscall.SIGKILL) }
