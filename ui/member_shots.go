//go:build screenshots || ci

package ui

import "exbackup/engine"

// sampleMemberNeed is what Insert Next Tape asks in the screenshot tour:
// the second member of an NT Backup tape's family.
func sampleMemberNeed() engine.MemberNeed {
	return engine.MemberNeed{Tape: "Tape created 7/14/2001", Set: 1, Family: 0x1234ABCD, Sequence: 2}
}
