package memback

import (
	"testing"

	"exbackup/exchange/mail/mailtest"
)

func TestContract(t *testing.T) {
	mailtest.Run(t, func(t *testing.T) mailtest.Org {
		b := New("example.org")
		b.AddMailbox("alice", "pw-a")
		b.AddMailbox("bob", "pw-b")
		return mailtest.Org{Backend: b, Domain: "example.org", Alice: "alice", AlicePass: "pw-a", Bob: "bob", BobPass: "pw-b", OtherDomainAddress: "x@elsewhere.net"}
	})
}
