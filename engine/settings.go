package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"exbackup/internal/durable"
)

// ServerConn is how the console reaches one server: its address and the
// certificate fingerprint pinned for it.
type ServerConn struct {
	Address     string `json:"address"`
	Fingerprint string `json:"fingerprint"`
}

// Settings are the console's settings, in $EXBACKUP_HOME/settings.json: the
// organization it is connected to and who counts as an administrator.
type Settings struct {
	Organization string                `json:"organization,omitempty"`
	Key          string                `json:"key,omitempty"`
	Entry        string                `json:"entry,omitempty"` // the server connected through
	Servers      map[string]ServerConn `json:"servers,omitempty"`
	Demo         bool                  `json:"demo,omitempty"` // connected to the built-in demo organization
	// AdminGroups name the Unix groups whose members are administrators:
	// they may restore and verify restricted tapes of any owner.
	AdminGroups []string `json:"adminGroups,omitempty"`
	LastTape    string   `json:"lastTape,omitempty"` // appended to when no tape is named
}

const settingsFile = "settings.json"

// LoadSettings reads the settings of a home folder (zero settings when there
// are none yet).
func LoadSettings(home string) (Settings, error) {
	var s Settings
	data, err := os.ReadFile(filepath.Join(home, settingsFile))
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("%s: %w", filepath.Join(home, settingsFile), err)
	}
	return s, nil
}

// Connected reports whether the settings name an organization.
func (s Settings) Connected() bool { return s.Entry != "" && s.Key != "" }

// Settings returns the current settings.
func (e *Engine) Settings() Settings {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.settings
}

// SaveSettings replaces the settings and writes them. The connections are
// dropped: the servers or their key may have changed.
func (e *Engine) SaveSettings(s Settings) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	path := filepath.Join(e.home, settingsFile)
	if err := durable.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("saving the settings %s: %w", path, err)
	}
	e.mu.Lock()
	e.settings = s
	e.mu.Unlock()
	e.dropClients()
	return nil
}

// dropClients closes the connections to the servers.
func (e *Engine) dropClients() {
	e.mu.Lock()
	old := e.clients
	e.clients = map[string]Server{}
	e.mu.Unlock()
	for _, c := range old {
		c.Close()
	}
}
