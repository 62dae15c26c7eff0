package contracts

import (
	"encoding/json"
	"fmt"
	"strings"

	contractdata "daprshop/libs/contracts/data"
)

// Action says whether a command runs a step forward or compensates it.
type Action string

const (
	Forward    Action = "forward"
	Compensate Action = "compensate"
)

// Named is a message's class name and CloudEvent type.
type Named struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Step is one step of the order saga.
type Step struct {
	Name         string `json:"name"`
	Participant  string `json:"participant"`
	Command      Named  `json:"command"`
	Succeeded    Named  `json:"succeeded"`
	Failed       Named  `json:"failed"`
	Compensation Named  `json:"compensation"`
	Compensated  Named  `json:"compensated"`
}

// Route says which step and action an event type starts at a participant, by which
// command, and on which topic the event arrives.
type Route struct {
	Step    string `json:"step"`
	Action  Action `json:"action"`
	Command string `json:"command"`
	Topic   string `json:"topic"`
}

type stepPolicy struct {
	ByEvents  bool `json:"by_events"`
	Publishes bool `json:"publishes"`
}

type coordination struct {
	Steps               []stepPolicy `json:"steps"`
	CompensatesByEvents bool         `json:"compensates_by_events"`
}

// Saga is the order saga as data (saga.json): its steps, how each mode coordinates
// them, and which events route to which step at each participant.
type Saga struct {
	Steps  []Step                      `json:"steps"`
	Modes  map[Mode]coordination       `json:"modes"`
	Routes map[string]map[string]Route `json:"routes"` // participant -> event type -> route
	Topics struct {
		DeadLetters string `json:"dead_letters"`
		Diagnostics string `json:"diagnostics"`
	} `json:"topics"`
}

// LoadSaga reads the embedded saga.json.
func LoadSaga() (*Saga, error) {
	raw, err := contractdata.FS.ReadFile("saga.json")
	if err != nil {
		return nil, fmt.Errorf("reading saga.json: %w", err)
	}
	return ParseSaga(raw)
}

// ParseSaga reads a saga definition and checks that every mode covers every step.
func ParseSaga(raw []byte) (*Saga, error) {
	var s Saga
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("parsing saga.json: %w", err)
	}
	for mode, c := range s.Modes {
		if len(c.Steps) != len(s.Steps) {
			return nil, fmt.Errorf("saga.json: mode %s coordinates %d steps, not %d", mode, len(c.Steps), len(s.Steps))
		}
	}
	for _, m := range []Mode{Choreography, Orchestration, Hybrid} {
		if _, ok := s.Modes[m]; !ok {
			return nil, fmt.Errorf("saga.json: no coordination for mode %s", m)
		}
	}
	if s.Topics.DeadLetters == "" {
		s.Topics.DeadLetters = "deadletters"
	}
	if s.Topics.Diagnostics == "" {
		s.Topics.Diagnostics = "diagnostics"
	}
	return &s, nil
}

// ByCommand returns the index of the step a command (by class name) belongs to, and
// whether it runs the step forward or compensates it.
func (s *Saga) ByCommand(command string) (int, Action, error) {
	for i, st := range s.Steps {
		switch command {
		case st.Command.Name:
			return i, Forward, nil
		case st.Compensation.Name:
			return i, Compensate, nil
		}
	}
	return 0, "", fmt.Errorf("%s is no command of this saga", command)
}

// StepNamed returns the index of the step called `name`.
func (s *Saga) StepNamed(name string) (int, error) {
	for i, st := range s.Steps {
		if st.Name == name {
			return i, nil
		}
	}
	return 0, fmt.Errorf("no saga step named %q", name)
}

// CommandOf returns the class name of a step's command for `action`.
func (s *Saga) CommandOf(index int, action Action) string {
	if action == Forward {
		return s.Steps[index].Command.Name
	}
	return s.Steps[index].Compensation.Name
}

// Publishes says whether step `index`'s participant publishes its outcomes in `mode`.
func (s *Saga) Publishes(mode Mode, index int) bool {
	return s.policy(mode, index).Publishes
}

// RunsByEvents says whether `action` of step `index` starts from an event in `mode`
// (a forward step by its trigger, a compensation by a later step's failure).
func (s *Saga) RunsByEvents(mode Mode, index int, action Action) bool {
	if action == Compensate {
		return s.coordination(mode).CompensatesByEvents
	}
	return s.policy(mode, index).ByEvents
}

func (s *Saga) coordination(mode Mode) coordination {
	if c, ok := s.Modes[mode]; ok {
		return c
	}
	return s.Modes[Hybrid] // as the Python saga: any other mode hands over like hybrid
}

func (s *Saga) policy(mode Mode, index int) stepPolicy {
	c := s.coordination(mode)
	if index < 0 || index >= len(c.Steps) {
		return stepPolicy{}
	}
	return c.Steps[index]
}

// RoutesOf returns event type -> route for one participant; a route's topic is its
// event's producer unless saga.json names it.
func (s *Saga) RoutesOf(participant string) map[string]Route {
	out := map[string]Route{}
	for eventType, r := range s.Routes[participant] {
		if r.Topic == "" {
			r.Topic = ProducerOf(eventType)
		}
		out[eventType] = r
	}
	return out
}

// CommandsOf lists the command class names of a participant's steps.
func (s *Saga) CommandsOf(participant string) []string {
	var names []string
	for _, st := range s.Steps {
		if st.Participant == participant {
			names = append(names, st.Command.Name, st.Compensation.Name)
		}
	}
	return names
}

// ProducerOf: "inventory.StockReserved.v1" -> "inventory" (its topic).
func ProducerOf(eventType string) string {
	producer, _, _ := strings.Cut(eventType, ".")
	return producer
}
