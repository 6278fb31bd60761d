package ui

import (
	"errors"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

// row finds the rendered tree row of a node.
func row(t *testing.T, c *Console, uid string) *nodeRow {
	t.Helper()
	for _, r := range find[*nodeRow](c.exch.tree) {
		if r.uid == uid && r.Visible() {
			return r
		}
	}
	t.Fatalf("no row for %s on screen", uid)
	return nil
}

func TestExchangeTreeOpensSitesWithIconsAndStates(t *testing.T) {
	c, _ := newTestConsole(t, newFakeEngine())
	if !c.exch.tree.IsBranchOpen("org") || !c.exch.tree.IsBranchOpen("site/Redmond") || c.exch.tree.IsBranchOpen("server/EXCH01") {
		t.Error("the organization and its sites open at first, servers closed")
	}
	r := row(t, c, "server/EXCH03")
	if r.name.Text != "EXCH03" || r.detail.Text != "— Directory running, Information Store stopped" || r.detail.Importance != widget.WarningImportance {
		t.Errorf("EXCH03 row: %q %q importance %v", r.name.Text, r.detail.Text, r.detail.Importance)
	}
	if r.icon.Resource != iconServer {
		t.Errorf("server icon = %v", r.icon.Resource)
	}
	if got := row(t, c, "org").icon.Resource; got != iconOrganization {
		t.Errorf("org icon = %v", got)
	}
	if got := row(t, c, "site/Dublin").icon.Resource; got != iconSite {
		t.Errorf("site icon = %v", got)
	}
	c.exch.expandAll()
	if got := row(t, c, "store/EXCH01/DS").icon.Resource; got != iconDirectory {
		t.Errorf("DS icon = %v", got)
	}
	if got := row(t, c, "store/EXCH01/IS"); got.icon.Resource != iconInfoStore || got.name.Text != "Information Store" || got.detail.Text != "running" {
		t.Errorf("IS row = %v %q %q", got.icon.Resource, got.name.Text, got.detail.Text)
	}
	if got := c.statusBar.message.Text; got != "First Organization: 3 servers in 2 sites" {
		t.Errorf("status bar = %q", got)
	}
}

// Tapping a check ticks the subtree; the branches above show partly ticked.
func TestExchangeTreeTriStateTicking(t *testing.T) {
	c, _ := newTestConsole(t, newFakeEngine())
	c.exch.expandAll()
	test.Tap(row(t, c, "server/EXCH01").check)

	if r := row(t, c, "store/EXCH01/DS"); !r.check.Checked {
		t.Error("ticking EXCH01 ticks its Directory")
	}
	if r := row(t, c, "store/EXCH01/IS"); !r.check.Checked {
		t.Error("ticking EXCH01 ticks its Information Store")
	}
	for _, uid := range []string{"site/Redmond", "org"} {
		if r := row(t, c, uid); r.check.Checked || !r.check.Partial {
			t.Errorf("%s: checked %v partial %v, want partly ticked", uid, r.check.Checked, r.check.Partial)
		}
	}
	if got := c.statusBar.selection.Text; got != "2 stores selected" {
		t.Errorf("status = %q", got)
	}
	// A partly ticked branch, tapped, ticks everything below it.
	test.Tap(row(t, c, "org").check)
	if r := row(t, c, "org"); !r.check.Checked || r.check.Partial {
		t.Error("org should be fully ticked")
	}
	if got := len(c.exch.selectedStores()); got != 6 {
		t.Errorf("%d stores ticked, want 6", got)
	}
	test.Tap(row(t, c, "store/EXCH02/IS").check)
	if r := row(t, c, "server/EXCH02"); !r.check.Partial {
		t.Error("EXCH02 should be partly ticked")
	}
	test.Tap(row(t, c, "org").check)
	test.Tap(row(t, c, "org").check)
	if got := len(c.exch.selectedStores()); got != 0 {
		t.Errorf("%d stores ticked after unticking the org", got)
	}
}

func TestExchangeTreeKeyboard(t *testing.T) {
	c, _ := newTestConsole(t, newFakeEngine())
	tree := c.exch.tree
	tree.Select("server/EXCH02")
	tree.TypedRune('+')
	if !tree.IsBranchOpen("server/EXCH02") {
		t.Error("+ expands one level")
	}
	tree.TypedRune('-')
	if tree.IsBranchOpen("server/EXCH02") {
		t.Error("- collapses the branch")
	}
	tree.TypedKey(&fyne.KeyEvent{Name: fyne.KeySpace})
	if len(c.exch.selectedStores()) != 2 {
		t.Errorf("Space ticks the selected node: %v", c.exch.selectedStores())
	}
	tree.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if !tree.IsBranchOpen("server/EXCH02") {
		t.Error("Enter opens the selected branch")
	}
}

// Double-tapping a node opens or closes its branch; a tap selects it.
func TestExchangeTreeDoubleTap(t *testing.T) {
	c, _ := newTestConsole(t, newFakeEngine())
	r := row(t, c, "server/EXCH01")
	test.DoubleTap(r)
	if !c.exch.tree.IsBranchOpen("server/EXCH01") {
		t.Fatal("double-tap should open EXCH01")
	}
	test.DoubleTap(row(t, c, "server/EXCH01"))
	if c.exch.tree.IsBranchOpen("server/EXCH01") {
		t.Fatal("a second double-tap closes it")
	}
	test.Tap(row(t, c, "site/Dublin"))
	if c.exch.selected != "site/Dublin" {
		t.Errorf("selected = %q", c.exch.selected)
	}
}

func TestTreeMenu(t *testing.T) {
	c, _ := newTestConsole(t, newFakeEngine())
	tree := c.exch.tree
	c.exch.collapseBranch() // nothing selected: the organization
	if tree.IsBranchOpen("org") || tree.IsBranchOpen("site/Redmond") {
		t.Fatal("Collapse Branch on the organization closes everything")
	}
	c.exch.expandOneLevel()
	if !tree.IsBranchOpen("org") || tree.IsBranchOpen("site/Redmond") {
		t.Error("Expand One Level opens only the organization")
	}
	tree.Select("site/Redmond")
	c.exch.expandBranch()
	for _, uid := range []string{"site/Redmond", "server/EXCH01", "server/EXCH02"} {
		if !tree.IsBranchOpen(uid) {
			t.Errorf("Expand Branch leaves %s closed", uid)
		}
	}
	if tree.IsBranchOpen("site/Dublin") {
		t.Error("Expand Branch of Redmond opened Dublin")
	}
	c.exch.collapseBranch()
	if tree.IsBranchOpen("site/Redmond") || tree.IsBranchOpen("server/EXCH01") {
		t.Error("Collapse Branch closes the branch and below")
	}
	c.exch.expandAll()
	for _, uid := range []string{"org", "site/Dublin", "server/EXCH03", "server/EXCH02"} {
		if !tree.IsBranchOpen(uid) {
			t.Errorf("Expand All leaves %s closed", uid)
		}
	}
}

// Refresh asks the engine again, keeps the ticks, and shows a failure in
// the window instead of the tree going away.
func TestExchangeRefresh(t *testing.T) {
	eng := newFakeEngine()
	c, q := newTestConsole(t, eng)
	c.exch.setTick("server/EXCH01", true)
	c.typedKey(&fyne.KeyEvent{Name: fyne.KeyF5})
	q.until(t, "a second Organization call", func() bool {
		var n int
		eng.locked(func() { n = eng.orgCalls })
		return n == 2
	})
	q.drain()
	if got := len(c.exch.selectedStores()); got != 2 {
		t.Errorf("ticks after refresh = %d", got)
	}
	eng.locked(func() { eng.orgErr = errors.New("dial tcp: connection refused") })
	c.refreshOrg()
	q.until(t, "the error banner", func() bool { return c.exch.bannerBox.Visible() })
	if got := c.exch.banner.Text; got != "Could not read the organization: Dial tcp: connection refused" {
		t.Errorf("banner = %q", got)
	}
	if len(c.exch.ix.nodes) == 0 {
		t.Error("the last tree stays when a refresh fails")
	}
}

func TestDemoBanner(t *testing.T) {
	eng := newFakeEngine()
	eng.org.Demo = true
	c, _ := newTestConsole(t, eng)
	if !c.exch.bannerBox.Visible() || c.exch.banner.Text != demoMessage {
		t.Errorf("banner = %q visible %v", c.exch.banner.Text, c.exch.bannerBox.Visible())
	}
	if c.statusBar.message.Text != "Demo organization — connect to a real one with Operations > Microsoft Exchange…" {
		t.Errorf("status bar = %q", c.statusBar.message.Text)
	}
}

func TestNoOrganization(t *testing.T) {
	eng := newFakeEngine()
	eng.org = engineOrgEmpty()
	c, _ := newTestConsole(t, eng)
	if !c.exch.bannerBox.Visible() {
		t.Error("an empty console says how to connect")
	}
	c.Backup()
	if top := overlayTop(c); top == nil {
		t.Fatal("Backup with nothing ticked should say so")
	}
	labels := find[*widget.Label](overlayTop(c))
	found := false
	for _, l := range labels {
		if len(l.Text) > 0 && l.Text[:min(len(l.Text), 31)] == "Select the stores to back up: t" {
			found = true
		}
	}
	if !found {
		t.Error("the info dialog says: Select the stores to back up")
	}
}
