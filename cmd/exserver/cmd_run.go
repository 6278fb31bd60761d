package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"exbackup/exchange/server"
)

func cmdRun(args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	dir := fs.String("data", "", "data folder of the server")
	listen := fs.String("listen", "", "HOST:PORT to serve on (default: the last one, or 127.0.0.1 with a free port)")
	smtpAddr := fs.String("smtp", "", "HOST:PORT for SMTP with STARTTLS, or off (default: a free port beside the API)")
	imapAddr := fs.String("imap", "", "HOST:PORT for IMAP over TLS, or off (default: a free port beside the API)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return fmt.Errorf("--data is required")
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s, err := server.Open(*dir, log)
	if err != nil {
		return err
	}
	s.SetMail(server.MailOptions{SMTP: *smtpAddr, IMAP: *imapAddr})
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	return s.Serve(ctx, *listen, func(name, url, fp string) {
		fmt.Println(s.ReadyLine())
	})
}
