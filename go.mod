module exbackup

go 1.26

require (
	fyne.io/fyne/v2 v2.7.1
	go.etcd.io/bbolt v1.5.0
	golang.org/x/sys v0.45.0 // indirect
)
