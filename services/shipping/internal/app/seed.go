package app

import (
	_ "embed"
	"encoding/json"
	"fmt"

	"daprshop/services/shipping/internal/domain"
)

//go:embed seed.json
var seed []byte

// LoadDestinations reads the embedded seed: the destinations in their order.
func LoadDestinations() ([]domain.Destination, error) {
	var doc struct {
		Destinations []domain.Destination `json:"destinations"`
	}
	if err := json.Unmarshal(seed, &doc); err != nil {
		return nil, fmt.Errorf("reading the destinations seed: %w", err)
	}
	return doc.Destinations, nil
}

// ByCountry indexes destinations by country code.
func ByCountry(list []domain.Destination) map[string]domain.Destination {
	out := make(map[string]domain.Destination, len(list))
	for _, d := range list {
		out[d.Country] = d
	}
	return out
}

func (a *App) destinationList() []domain.Destination {
	list, _ := LoadDestinations() // checked at start-up
	return list
}
