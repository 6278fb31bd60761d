package ui

import (
	"fyne.io/fyne/v2"

	"exbackup/assets"
)

// The bundled pictures as Fyne resources. Tree and tape icons keep their
// colours in both theme variants (they are drawn in mid tones that read on
// light and dark backgrounds), as NT Backup's did.
var (
	iconOrganization = fyne.NewStaticResource("organization.svg", assets.Organization)
	iconSite         = fyne.NewStaticResource("site.svg", assets.Site)
	iconServer       = fyne.NewStaticResource("server.svg", assets.Server)
	iconDirectory    = fyne.NewStaticResource("directory.svg", assets.Directory)
	iconInfoStore    = fyne.NewStaticResource("infostore.svg", assets.InformationStore)
	iconTape         = fyne.NewStaticResource("tape.svg", assets.Tape)
	iconSet          = fyne.NewStaticResource("set.svg", assets.Set)

	iconBackup  = fyne.NewStaticResource("backup.svg", assets.Backup)
	iconRestore = fyne.NewStaticResource("restore.svg", assets.Restore)
	iconCatalog = fyne.NewStaticResource("catalog.svg", assets.Catalog)
	iconErase   = fyne.NewStaticResource("erase.svg", assets.Erase)
	iconConnect = fyne.NewStaticResource("connect.svg", assets.Connect)

	iconApp = fyne.NewStaticResource("icon.png", assets.AppIconPNG)
)

// AppIcon is the application icon, for the app and its windows.
func AppIcon() fyne.Resource { return iconApp }
