package ui

// noticer is what the real engine offers beyond Engine: what opening the
// catalog found (a damaged catalog moved aside and rebuilt, tapes
// cataloged again).
type noticer interface{ CatalogNotice() string }

// showCatalogNotice tells, once at start, what opening the catalog found:
// an administrator must learn that the catalog was rebuilt, and from what,
// before trusting what the Tapes window lists.
func (c *Console) showCatalogNotice() {
	n, ok := c.eng.(noticer)
	if !ok {
		return
	}
	if msg := n.CatalogNotice(); msg != "" {
		c.info("Catalog", msg)
	}
}
