package main

import (
	"fmt"
	"log/slog"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/auth"
	"github.com/loupehq/loupe/internal/server"
)

// setupAuth decides, from --auth and the listen addresses, whether
// requests need API keys, and sets opts accordingly:
//
//   - off: no keys, every request runs as the local admin; allowed on
//     loopback addresses only;
//   - on: every request needs a key; there must be an active key;
//   - auto (default): keys are required as soon as DATA/keys.json holds
//     one (even if all are revoked), and always on a non-loopback address,
//     which refuses to start without an active key.
//
// With --demo it also creates the in-memory credential of the demo feeder
// (opts.Internal), accepted as an ingest key of the default project. It
// returns the audit log to close, or nil.
func setupAuth(cfg serveConfig, opts *server.Options, logger *slog.Logger) (*auth.Audit, error) {
	var exposed []string
	for _, a := range []string{cfg.Addr, cfg.GRPCAddr} {
		if !isLoopback(a) {
			exposed = append(exposed, a)
		}
	}
	refuse := func(why string) error {
		return fmt.Errorf("refusing to serve on %s %s: create one with `loupe keys create --data %s --project P --role admin` "+
			"(Possible solutions: create a key and restart; or listen on 127.0.0.1 only, e.g. --addr 127.0.0.1:4318 --grpc-addr 127.0.0.1:4317)",
			exposed[0], why, cfg.Data)
	}
	if cfg.Auth == "off" {
		if len(exposed) > 0 {
			return nil, refuse("without API keys (--auth off)")
		}
		logger.Warn("API keys are off (--auth off): every local request runs as admin of the default project")
		return nil, nil
	}
	keys, err := auth.OpenKeys(cfg.Data, nil)
	if err != nil {
		return nil, fmt.Errorf("open API keys in --data %s: %w", cfg.Data, err)
	}
	all, active := keys.Count()
	switch {
	case len(exposed) > 0 && active == 0:
		return nil, refuse("without API keys")
	case cfg.Auth == "on" && active == 0:
		return nil, fmt.Errorf("--auth on but %s holds no active API key: create one with `loupe keys create --data %s --project P --role admin`",
			keys.Path(), cfg.Data)
	}
	opts.Keys = keys
	opts.AuthOptional = cfg.Auth == "auto" && len(exposed) == 0
	if opts.AuthOptional && all == 0 {
		logger.Info("API keys are not required until the first one is created (loopback, --auth auto)", "keys_file", keys.Path())
	} else {
		logger.Info("API keys required", "keys_file", keys.Path(), "active_keys", active)
	}
	if cfg.Demo {
		// The in-process demo feeder writes through the receivers like
		// any client, with a credential that lives only in memory.
		opts.Internal, err = auth.NewInternal(auth.Principal{KeyID: "internal:demo", Project: loupe.DefaultProject, Role: auth.RoleIngest})
		if err != nil {
			return nil, err
		}
	}
	if cfg.DecodeOnly {
		return nil, nil
	}
	opts.Audit = auth.OpenAudit(cfg.Data)
	return opts.Audit, nil
}
