package engine

import (
	"encoding/json"
	"path/filepath"
	"strings"

	"exbackup/catalog"
	"exbackup/exchange"
	"exbackup/tape"
)

// envProperty is the set property that carries the restore environment, so
// that cataloging a tape rebuilds a set's records from the SSET alone.
const envProperty = "restore-env"

// tapeRecord is the catalog record of a tape, from its TAPE header.
func tapeRecord(info tape.Info, owner string, restricted bool) catalog.Tape {
	loc, _ := filepath.Abs(info.Path)
	return catalog.Tape{FamilyID: info.FamilyID, Sequence: uint16(info.Sequence), Name: info.Name,
		Description: info.Description, Created: info.Created, Owner: owner, Restricted: restricted,
		Location: loc, Software: info.Software}
}

// setRecord is the catalog record of a set as the tape lists it. Backup
// and Catalog both use it, so a rebuilt catalog equals the one the backup
// wrote.
func setRecord(s tape.Set) catalog.SetWithEntries {
	cs := catalog.Set{Number: s.Number, Type: catalogType(s.Type), Name: s.Name,
		Description: s.Description, Created: s.Created, Owner: s.Owner, Restricted: s.Restricted,
		Bytes: s.Bytes, Files: s.Files, State: setState(s.State), Damage: setDamage(s), Foreign: !s.Exbackup,
		Encrypted: s.Encrypted}
	if env, ok := setEnv(s); ok {
		cs.Organization, cs.Site, cs.Server = env.Organization, env.Site, env.Server
		cs.Stores = []string{string(env.Store)}
		cs.BaseLSN, cs.LowGen, cs.HighGen, cs.HighLSN = env.BaseLSN, env.LowGen, env.HighGen, env.HighLSN
	} else {
		cs.Foreign = true
		for _, v := range s.Volumes {
			cs.Stores = append(cs.Stores, v.Device)
			if cs.Server == "" {
				cs.Server = v.Machine
			}
		}
	}
	entries := make([]catalog.Entry, 0, len(s.Entries))
	for _, e := range s.Entries {
		ce := catalog.Entry{Path: e.Path, Size: e.Size, FLA: e.FLA}
		if e.Volume >= 0 && e.Volume < len(s.Volumes) {
			ce.Volume = s.Volumes[e.Volume].Device
		}
		if !e.Hash.IsZero() {
			ce.Hash = e.Hash.String()
		}
		entries = append(entries, ce)
	}
	return catalog.SetWithEntries{Set: cs, Entries: entries}
}

// catalogType is the catalog's word for a set's type: Exchange's, or for
// another writer's Daily or Transfer set MTF's name, listed as it is.
func catalogType(t tape.BackupType) string {
	if bt := typeOfTape(t); bt != "" {
		return string(bt)
	}
	if t == 0 {
		return ""
	}
	return strings.ToLower(t.String())
}

func setState(s tape.SetState) catalog.SetState {
	switch s {
	case tape.SetComplete:
		return catalog.StateComplete
	case tape.SetDamaged:
		return catalog.StateDamaged
	}
	return catalog.StateAborted
}

// setEnv reads the restore environment of a set written by exbackup.
func setEnv(s tape.Set) (exchange.RestoreEnv, bool) {
	var env exchange.RestoreEnv
	raw, ok := s.Properties[envProperty]
	if !ok || json.Unmarshal([]byte(raw), &env) != nil || !env.Store.Valid() {
		return env, false
	}
	return env, true
}
