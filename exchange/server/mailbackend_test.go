package server

import (
	"testing"

	"exbackup/exchange"
	"exbackup/exchange/mail/mailtest"
)

// The store's Backend keeps the contract the front ends rely on, on real
// files.
func TestMailBackendContract(t *testing.T) {
	mailtest.Run(t, func(t *testing.T) mailtest.Org {
		s := newTestServer(t, "Contoso Ltd", "Redmond", "EXCH01", false)
		for _, a := range []string{"alice", "bob"} {
			if err := s.CreateMailbox(bg, exchange.Recipient{Alias: a}); err != nil {
				t.Fatal(err)
			}
			if err := s.SetPassword(bg, a, a+"-pw"); err != nil {
				t.Fatal(err)
			}
			// The contract's organization has three default folders;
			// Exchange's mailboxes have three more.
			for _, f := range []string{"Outbox", "Calendar", "Contacts"} {
				if err := s.Mail().DeleteFolder(bg, a, f); err != nil {
					t.Fatal(err)
				}
			}
		}
		return mailtest.Org{Backend: s.Mail(), Domain: "contoso-ltd.local", Alice: "alice", AlicePass: "alice-pw",
			Bob: "bob", BobPass: "bob-pw", OtherDomainAddress: "carol@elsewhere.net"}
	})
}
